"""A local Spark session released by a process that needs Spark no more
(spark_jobs.common.session.release_spark; `analytics run` once its Spark tasks are done)."""

from __future__ import annotations

import os
import subprocess
import sys

RELEASE = (
    "import os\n"
    "from pyspark import SparkContext\n"
    "from orchestration.core.settings import get_settings\n"
    "from spark_jobs.common.session import get_spark, release_spark\n"
    "print(release_spark())\n"  # no session yet: nothing to release
    "spark = get_spark(get_settings())\n"
    "jvm = SparkContext._gateway.proc.pid\n"
    "print(spark.range(3).count())\n"
    "print(release_spark())\n"
    "try:\n"
    "    os.kill(jvm, 0)\n"
    "    print('the JVM is still there')\n"
    "except ProcessLookupError:\n"
    "    print('the JVM is gone')\n"
    "again = get_spark(get_settings())\n"  # a later session starts another JVM
    "print(again.range(4).count(), SparkContext._gateway.proc.pid != jvm)\n"
)


def test_a_released_session_ends_its_jvm_and_a_later_one_starts_another(tmp_path):
    """What `analytics run` does once its pipeline has no Spark task left (cli.run): the
    session stopped and its JVM ended (waited for), not when the process exits."""
    env = {**os.environ, "LAKE_ROOT": str(tmp_path / "lake")}
    done = subprocess.run([sys.executable, "-c", RELEASE], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:5] == ["False", "3", "True", "the JVM is gone", "4 True"]
