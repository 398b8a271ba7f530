"""Java sources compiled into a jar whose bytes depend only on the sources and the compiler.

The Spark jobs' own functions (spark_jobs/jvm) are Java: a local session builds their jar once
per machine into the jar cache, `analytics package` puts it in the bundle for EMR, the image's
build stage into the image. All three build it here."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from orchestration.core.errors import InputError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# The Spark jobs' Java functions (a folder of the spark_jobs package, installed with it) and
# the name of their jar (in the jar cache with a digest of its sources, in the bundle as is).
FUNCTIONS_SOURCES = Path(__file__).resolve().parents[2] / "spark_jobs" / "jvm"
FUNCTIONS_JAR = "analytics-functions"
# What they are compiled against, of the jars pyspark ships (the runtime's Spark has the same).
FUNCTIONS_CLASSPATH = ("spark-sql-api_*.jar", "jackson-core-*.jar")
# The JVM every runtime has (EMR's Spark 4.1 and the image run Java 17).
JAVA_RELEASE = "17"
MANIFEST = b"Manifest-Version: 1.0\r\nCreated-By: analytics-platform\r\n\r\n"


class NoJavaCompiler(InputError):
    """The Java compiler is missing: a Java runtime without its development kit."""


def deterministic_zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip of (name, content) pairs whose bytes depend on nothing else."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the building machine is
            archive.writestr(info, content, compresslevel=9)
    return buffer.getvalue()


def java_sources(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.java"))


def sources_digest(folder: Path, *also: str) -> str:
    """A short hash of the sources under `folder` (names and bytes) and of `also` (what else
    the compiled classes depend on, e.g. the Spark version they are compiled against)."""
    digest = hashlib.sha256()
    for path in java_sources(folder):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    for extra in also:
        digest.update(b"\0" + extra.encode())
    return digest.hexdigest()[:16]


def jdk_tool(name: str, env: Mapping[str, str] = os.environ) -> str | None:
    """A Java tool (`java`, `javac`) as Spark's launcher finds it: JAVA_HOME's, else the first
    on PATH; None when neither has it."""
    home = env.get("JAVA_HOME")
    if home and Path(home, "bin", name).is_file():
        return str(Path(home, "bin", name))
    return shutil.which(name, path=env.get("PATH"))


def javac(env: Mapping[str, str] = os.environ) -> str:
    """The Java compiler: JAVA_HOME's, else the first on PATH."""
    found = jdk_tool("javac", env)
    if found is None:
        raise NoJavaCompiler(
            "javac not found: the Spark jobs' functions (spark_jobs/jvm) are compiled with a "
            f"Java {JAVA_RELEASE} development kit; install one (Debian: apt-get install "
            "openjdk-17-jdk-headless) or set JAVA_HOME to it"
        )
    return found


def compile_jar(sources: Path, classpath: Iterable[Path]) -> bytes:
    """The jar of the Java sources under `sources`, compiled for Java 17 against `classpath`."""
    files = java_sources(sources)
    if not files:
        raise ValueError(f"no Java source under {sources}")
    with tempfile.TemporaryDirectory(prefix="analytics-javac-") as out:
        command = [
            javac(), "--release", JAVA_RELEASE, "-nowarn", "-encoding", "UTF-8",
            "-cp", os.pathsep.join(str(p) for p in classpath), "-d", out,
            *(str(f) for f in files),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"javac failed on {sources}:\n{done.stdout}{done.stderr}")
        classes = sorted(Path(out).rglob("*.class"))
        entries = [(c.relative_to(out).as_posix(), c.read_bytes()) for c in classes]
    return deterministic_zip([("META-INF/MANIFEST.MF", MANIFEST), *entries])


def spark_jars_folder() -> Path:
    """The jars pyspark ships (its Spark and Hadoop)."""
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def spark_version() -> str:
    import pyspark

    return pyspark.__version__


def functions_classpath() -> list[Path]:
    folder = spark_jars_folder()
    found = [jar for pattern in FUNCTIONS_CLASSPATH for jar in sorted(folder.glob(pattern))]
    if len(found) != len(FUNCTIONS_CLASSPATH):
        raise RuntimeError(f"{folder} lacks one of {FUNCTIONS_CLASSPATH}: is pyspark complete?")
    return found


def functions_jar_bytes() -> bytes:
    """The Spark jobs' functions compiled (the bundle's jar)."""
    return compile_jar(FUNCTIONS_SOURCES, functions_classpath())


def cached_functions_jar(cache: Path) -> Path:
    """The Spark jobs' functions in the jar cache, compiled there on first use."""
    return cached_jar(
        FUNCTIONS_SOURCES, functions_classpath(), cache, FUNCTIONS_JAR, spark_version()
    )


def cached_jar(
    sources: Path, classpath: Iterable[Path], cache: Path, name: str, *also: str
) -> Path:
    """`cache/<name>-<digest>.jar`, compiled from `sources` the first time it is asked for
    (written under a temporary name and renamed: a concurrent build leaves one whole jar)."""
    jar = cache / f"{name}-{sources_digest(sources, *also)}.jar"
    if not jar.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        partial = jar.with_name(f".{jar.name}.{os.getpid()}")
        partial.write_bytes(compile_jar(sources, classpath))
        partial.replace(jar)
    return jar
