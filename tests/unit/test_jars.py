"""Java sources into a reproducible jar (orchestration.core.jars): what the local session, the
bundle and the image each build from spark_jobs/jvm."""

from __future__ import annotations

import io
import subprocess
import zipfile

import pytest

from orchestration.core import jars

HELLO = (
    'package demo;\npublic final class Hello {\n  public static String hi() { return "%s"; }\n}\n'
)


def _sources(folder, text="hi"):
    path = folder / "demo" / "Hello.java"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HELLO % text)
    return folder


def test_the_same_sources_give_the_same_bytes_and_the_class_runs(tmp_path):
    sources = _sources(tmp_path / "src")
    first = jars.compile_jar(sources, [])
    assert jars.compile_jar(sources, []) == first
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == ["META-INF/MANIFEST.MF", "demo/Hello.class"]
    jar = tmp_path / "hello.jar"
    jar.write_bytes(first)
    # The compiled class, run by a JVM: jshell would be slow, so a one-class launcher source.
    launcher = tmp_path / "Main.java"
    launcher.write_text("public class Main { public static void main(String[] a) "
                        "{ System.out.print(demo.Hello.hi()); } }")  # fmt: skip
    done = subprocess.run(
        ["java", "-cp", str(jar), str(launcher)], capture_output=True, text=True, check=True
    )
    assert done.stdout == "hi"


def test_the_cache_keeps_one_jar_per_version_of_the_sources(tmp_path):
    sources = _sources(tmp_path / "src")
    cache = tmp_path / "cache"
    first = jars.cached_jar(sources, [], cache, "demo", "spark-1")
    assert jars.cached_jar(sources, [], cache, "demo", "spark-1") == first
    other_spark = jars.cached_jar(sources, [], cache, "demo", "spark-2")
    _sources(tmp_path / "src", "hello")
    changed = jars.cached_jar(sources, [], cache, "demo", "spark-1")
    assert len({first, other_spark, changed}) == 3
    # Whole jars only: no partial file left beside them.
    assert sorted(cache.iterdir()) == sorted([first, other_spark, changed])


def test_a_compile_error_names_the_sources(tmp_path):
    broken = tmp_path / "src" / "demo" / "Broken.java"
    broken.parent.mkdir(parents=True)
    broken.write_text("package demo; public class Broken { int x = ; }")
    with pytest.raises(RuntimeError, match="javac failed on .*src"):
        jars.compile_jar(tmp_path / "src", [])


def test_no_compiler_is_one_clear_error(tmp_path):
    with pytest.raises(jars.NoJavaCompiler, match="javac not found.*openjdk-17-jdk-headless"):
        jars.javac({"PATH": str(tmp_path)})


def test_the_jobs_functions_compile_against_the_pinned_spark():
    names = zipfile.ZipFile(io.BytesIO(jars.functions_jar_bytes())).namelist()
    assert {"analytics/spark/JsonFields.class", "analytics/spark/IsoTimestamp.class"} <= set(names)
