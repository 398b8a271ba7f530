"""Where a local Spark JVM's class-data archive is kept (application class-data sharing, CDS).

A fresh JVM loads, parses and verifies some 11,000 classes before a local session runs its first
job. A dynamic archive (`-XX:ArchiveClassesAtExit`, Java 13+) holds them as the JVM left them
after a training run, mapped ready to use by the next JVM (`-XX:SharedArchiveFile`). The JVM
uses an archive only with the JVM it was made with and a class path that begins with the one it
was made with (it checks each jar's size and time; a mismatch prints a warning and runs without
it), so each archive is named by a digest of both and a changed installation looks for a new one.
Jars after that class path (a session's S3 connector) load from their files as usual."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from orchestration.core.jars import jdk_tool

ARCHIVE_FOLDER = "class-data"


def java_executable(env: Mapping[str, str] = os.environ) -> Path | None:
    """The `java` Spark's launcher starts (bin/spark-class): JAVA_HOME's, else the first on PATH."""
    found = jdk_tool("java", env)
    return Path(found) if found else None


def _stamp(path: Path) -> bytes:
    """A file's real path, size and modification time (what changes when it is replaced)."""
    try:
        real = path.resolve()
        info = real.stat()
    except OSError:
        return str(path).encode() + b"\0missing"
    return f"{real}\0{info.st_size}\0{info.st_mtime_ns}".encode()


def jvm_files(java: Path) -> list[Path]:
    """The files that identify a Java installation: its launcher and its class library image."""
    home = java.resolve().parent.parent
    return [java, home / "lib" / "modules"]


def archive_path(
    cache: Path, classpath: Iterable[Path], java: Path | None, install: Path
) -> Path | None:
    """`cache/class-data/spark-<install>-<digest>.jsa` for this JVM and class path (every jar of
    it, in order), or None without a `java` to start. `install` (the Spark installation's
    folder) names the archives that replace one another: each checkout keeps its own."""
    if java is None:
        return None
    digest = hashlib.sha256()
    for path in [*jvm_files(java), *classpath]:
        digest.update(_stamp(path) + b"\n")
    owner = hashlib.sha256(str(install.resolve()).encode()).hexdigest()[:8]
    return cache / ARCHIVE_FOLDER / f"spark-{owner}-{digest.hexdigest()[:16]}.jsa"


def stale_archives(archive: Path) -> list[Path]:
    """The other archives of the same installation beside `archive`: made for a JVM or class
    path since replaced."""
    owner = archive.name.split("-")[1]
    return sorted(p for p in archive.parent.glob(f"spark-{owner}-*.jsa") if p != archive)
