"""The class-data archive local Spark sessions start from (orchestration.devtools.class_archive):
made by a training run, then mapped by every fresh session on the same JVM and class path."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from orchestration.cli import cli
from orchestration.core.jars import cached_functions_jar
from orchestration.core.settings import Settings, get_settings
from orchestration.devtools.class_archive import ensure_archive
from spark_jobs.common.session import jar_cache

FRESH_SESSION = (
    "from orchestration.core.settings import get_settings\n"
    "from spark_jobs.common.session import get_spark\n"
    "spark = get_spark(get_settings())\n"
    "print(spark.range(5).count())\n"
    "if get_settings().lake_root.startswith('s3://'):\n"
    "    spark._jvm.java.lang.Class.forName('org.apache.hadoop.fs.s3a.S3AFileSystem')\n"
)


@pytest.mark.parametrize("lake", ["folder", "s3"])
def test_a_fresh_session_loads_sparks_classes_from_the_archive(tmp_path, lake):
    """On an s3:// lake too: the S3 connector's jars come after Spark's own on the class path,
    so the archive made on a folder lake (whose class path begins it) is mapped, and the
    connector's classes load from its jars. (No S3 is reached: the session is only started.)"""
    # `make setup` made it (CI runs it first); on a machine without one it is made here.
    made = ensure_archive(Settings(LAKE_ROOT=str(tmp_path / "lake")))
    assert made is not None and made.path.is_file()

    log = tmp_path / "classes.log"
    options = f"{os.environ.get('SPARK_JAVA_OPTIONS', '')} -Xlog:class+load=info:file={log}"
    lake_root = str(tmp_path / "lake") if lake == "folder" else "s3://lake/platform"
    env = {**os.environ, "LAKE_ROOT": lake_root, "PII_SALT": "x", "SPARK_JAVA_OPTIONS": options}
    done = subprocess.run(
        [sys.executable, "-c", FRESH_SESSION], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "5"
    assert "Unable to use shared archive" not in done.stdout + done.stderr
    loaded = log.read_text()
    # The JVM names where each class came from: the archive is the "top" shared file.
    assert "org.apache.spark.SparkContext source: shared objects file (top)" in loaded
    assert "org.apache.spark.sql.SparkSession source: shared objects file (top)" in loaded
    s3a = re.search(r"org\.apache\.hadoop\.fs\.s3a\.S3AFileSystem source: (\S+)", loaded)
    if lake == "folder":
        assert s3a is None  # a folder lake loads none of the connector
    else:
        assert s3a is not None and "hadoop-aws-" in s3a.group(1)


def test_a_training_run_that_fails_leaves_no_archive_and_says_why(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    jar = cached_functions_jar(jar_cache())
    shutil.copy2(jar, cache / jar.name)  # the machine's functions jar: no compiling here
    monkeypatch.setenv("SPARK_JARS_CACHE", str(cache))
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "1k")  # the JVM cannot start

    get_settings.cache_clear()  # the CLI reads its settings once per process
    try:
        result = CliRunner().invoke(cli, ["spark-archive"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 1
    assert "the training run wrote no class-data archive" in result.output
    assert "Too small maximum heap" in result.output  # the JVM's own words
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not list((cache / "class-data").iterdir())  # no archive, no partial one
