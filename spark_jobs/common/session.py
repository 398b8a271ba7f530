"""One Spark session per process, tuned for local mode."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from pyspark.sql import SparkSession

from orchestration.core.settings import Settings

_lock = threading.Lock()
LOG4J2 = Path(__file__).with_name("log4j2.properties")


def get_spark(settings: Settings) -> SparkSession:
    """Return the process's Spark session, creating it on first use (UTC, quiet, few partitions)."""
    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if settings.spark_master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        memory = settings.spark_driver_memory
        builder = (
            SparkSession.builder.appName("analytics")
            .master(settings.spark_master)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.driver.memory", memory)
            .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
            .config("spark.sql.parquet.compression.codec", "snappy")
            # The heap starts at its full size: growing it under the first big job costs full GCs.
            # The throughput collector: these are batch jobs, pauses do not matter, and the
            # attempts job at 10M lines ran ~10 % faster than with G1 (118-121 s vs 129-136 s).
            .config(
                "spark.driver.extraJavaOptions",
                f"-Xms{memory} -XX:+UseParallelGC -Dlog4j2.configurationFile=file:{LOG4J2}",
            )
        )
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        return spark
