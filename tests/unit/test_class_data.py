"""Where a local Spark JVM's class-data archive is kept (orchestration.core.class_data): one per
JVM and class path, found again only while neither changed."""

from __future__ import annotations

import os
import re
import stat

from orchestration.core import class_data


def _jdk(folder):
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    (folder / "lib").mkdir()
    (folder / "lib" / "modules").write_bytes(b"jimage v1")
    return java


def _jar(path, content):
    path.write_bytes(content)
    return path


def test_an_archive_is_named_by_the_jvm_and_every_jar_of_the_class_path_in_order(tmp_path):
    java = _jdk(tmp_path / "jdk")
    a = _jar(tmp_path / "a.jar", b"PK a")
    b = _jar(tmp_path / "b.jar", b"PK b")
    cache, install = tmp_path / "cache", tmp_path

    def path(*classpath):
        return class_data.archive_path(cache, list(classpath), java, install)

    first = path(a, b)
    assert first.parent == cache / "class-data"
    assert re.fullmatch(r"spark-[0-9a-f]{8}-[0-9a-f]{16}\.jsa", first.name)
    assert path(a, b) == first
    # The JVM matches the class path entry by entry: another order is another archive.
    assert path(b, a) != first
    assert path(a) != first

    seen = {first}
    b.write_bytes(b"PK b, rebuilt")  # a jar replaced (another size) ...
    seen.add(path(a, b))
    os.utime(a, ns=(10**18, 10**18))  # ... or touched (same size, another time)
    seen.add(path(a, b))
    (java.parent.parent / "lib" / "modules").write_bytes(b"jimage v2")  # Java updated
    seen.add(path(a, b))
    assert len(seen) == 4
    # One installation's archives replace one another: their names share its part.
    assert len({p.name.split("-")[1] for p in seen}) == 1
    other = class_data.archive_path(cache, [a, b], java, tmp_path / "another-checkout")
    assert other.name.split("-")[1] != first.name.split("-")[1]


def test_no_java_no_archive(tmp_path):
    assert class_data.archive_path(tmp_path, [], None, tmp_path) is None


def test_the_java_is_the_one_sparks_launcher_starts(tmp_path):
    home_java = _jdk(tmp_path / "home")
    on_path = _jdk(tmp_path / "path")
    env = {"JAVA_HOME": str(tmp_path / "home"), "PATH": str(on_path.parent)}
    assert class_data.java_executable(env) == home_java
    assert class_data.java_executable({"PATH": str(on_path.parent)}) == on_path
    assert class_data.java_executable({"PATH": str(tmp_path / "empty")}) is None


def test_stale_archives_are_the_installations_others(tmp_path):
    folder = tmp_path / "class-data"
    folder.mkdir()
    current = folder / "spark-aaaaaaaa-0000000000000001.jsa"
    old = folder / "spark-aaaaaaaa-0000000000000002.jsa"
    partial = folder / ".spark-aaaaaaaa-0000000000000003.jsa.123"  # still being written
    other_checkout = folder / "spark-bbbbbbbb-0000000000000004.jsa"
    for path in (current, old, partial, other_checkout):
        path.write_bytes(b"")
    assert class_data.stale_archives(current) == [old]
