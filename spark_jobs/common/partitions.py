"""Reading raw partitions, publishing curated partitions atomically (idempotent overwrite) and
reading what was published."""

from __future__ import annotations

import datetime as dt
import os
import re

from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from orchestration.core.errors import InputError
from orchestration.core.publishing import (
    VERSION,
    new_version,
    partition_parts,
    publish_version,
    published_files,
    published_partitions,
    published_table_files,
    staging_dir_for,
    swap_in,
    unpublish,
    version_uri,
)


class MissingInputError(InputError):
    """The raw partition a job was asked to process does not exist."""


class UnreadableInputError(InputError):
    """A raw file that cannot be read at all (a truncated or corrupt gzip file)."""


_FAILED_READ = re.compile(
    r"FAILED_READ_FILE\.\w+\] Encountered error while reading file (\S+?)\.?\s"
)
_CAUSE = re.compile(r"Caused by: (?:[\w$]+\.)*([\w$]+: [^\n]*)")


def unreadable_file(error: Exception, day: str) -> UnreadableInputError | None:
    """The one-line user error for a Spark failure that is a raw file it cannot read, else None.

    Nothing of the day is published then: its lines cannot all be counted, so the job stops
    rather than publish part of the file as if it were the whole day."""
    text = str(error)
    failed = _FAILED_READ.search(text)
    if failed is None:
        return None
    causes = _CAUSE.findall(text)
    why = causes[-1] if causes else "unreadable"
    path = failed.group(1).removeprefix("file://")
    return UnreadableInputError(
        f"{path}: cannot be read ({why}); nothing was published for dt={day}: "
        "deliver the file again, complete, then rerun"
    )


def read_lines(spark: SparkSession, path: str) -> DataFrame:
    """Raw text lines (gzip or plain) of one landing partition, with the file each came from."""
    if not exists(spark, path):
        raise MissingInputError(f"no raw data at {path}: generate or land the files first")
    return spark.read.text(path).select("value", F.col("_metadata.file_path").alias("source_file"))


def publish_partition(df: DataFrame, path: str, retention: dt.timedelta) -> None:
    """Write `df` as the partition at `path`, replacing any previous version in one step.

    Locally the new files are written to a hidden sibling folder and swapped in by rename; on S3
    they are written to a new version folder and the partition's manifest is switched to it
    (superseded versions stay for `retention`). Either way a reader, or a crash mid-write, only
    ever sees the old or the new partition, never a mix.
    """
    # No coalesce(1): it would pull the whole upstream stage (the dedupe sort) into one task.
    # Adaptive execution already merges small shuffle partitions into few files.
    writer = df.write.mode("overwrite").option("compression", "snappy")
    if path.startswith("s3://"):
        version = version_uri(path, new_version())
        writer.parquet(version)
        publish_version(path, version, retention)
        return
    staging = staging_dir_for(path)
    writer.parquet(staging)
    for leftover in os.listdir(staging):
        if leftover.endswith(".crc"):
            os.remove(os.path.join(staging, leftover))
    swap_in(staging, path)


def read_published(spark: SparkSession, path: str, schema: StructType | None = None) -> DataFrame:
    """The published version of a partition (on S3, the files its manifest lists). With the
    `schema` its writer wrote, Spark skips inferring it (a job of its own reading a footer)."""
    files = published_files(path)
    if files is None:
        raise MissingInputError(f"nothing published at {path}")
    reader = spark.read if schema is None else spark.read.schema(schema)
    if not path.startswith("s3://"):
        return reader.parquet(path)
    return reader.parquet(*files)


def read_published_table(spark: SparkSession, root: str) -> DataFrame | None:
    """Every published partition of a table, with its `dt` column (None: nothing published)."""
    if not root.startswith("s3://"):
        if not exists(spark, root):
            return None
        return spark.read.option("basePath", root).parquet(root)
    files = published_table_files(root)
    if not files:
        return None
    # The version folder is a partition column to Spark's discovery (v=…): not data.
    return spark.read.option("basePath", root).parquet(*files).drop(VERSION.rstrip("="))


def is_published(path: str) -> bool:
    return published_files(path) is not None


def published_subpartitions(spark: SparkSession, day: str) -> list[str]:
    """The published partitions under a day's folder (`shard=K-of-N`), by name."""
    if not day.startswith("s3://"):
        return subfolders(spark, day)
    root, partition = partition_parts(day)
    prefix = f"{root}/{partition}/"
    return sorted(
        p.removeprefix(prefix) for p in published_partitions(root) if p.startswith(prefix)
    )


def unpublish_partition(spark: SparkSession, path: str, retention: dt.timedelta) -> None:
    """Remove a published partition (on S3 its manifest; the data stays for `retention`)."""
    if path.startswith("s3://"):
        unpublish(path, retention)
    else:
        remove(spark, path)


def _filesystem(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path, hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def exists(spark: SparkSession, path: str) -> bool:
    """Whether a folder or file exists (local or s3), through Spark's filesystem layer."""
    hadoop_path, fs = _filesystem(spark, path)
    return bool(fs.exists(hadoop_path))


def subfolders(spark: SparkSession, path: str) -> list[str]:
    """Names of the visible folders directly under `path` (none if it does not exist)."""
    hadoop_path, fs = _filesystem(spark, path)
    if not fs.exists(hadoop_path):
        return []
    names = [s.getPath().getName() for s in fs.listStatus(hadoop_path) if s.isDirectory()]
    return sorted(n for n in names if not n.startswith((".", "_")))


def remove(spark: SparkSession, path: str, up_to: str | None = None) -> None:
    """Delete a folder (local or s3) through Spark's own filesystem layer; absent is fine.

    With `up_to` (an ancestor), the parents left empty are removed too, up to that one: on S3
    the connector otherwise leaves a marker object for each emptied parent. Pruning is best
    effort: a parent is removed only while empty (a non-recursive delete), so a job writing
    beside this one at the same time keeps its files, and the prune simply stops."""
    hadoop_path, fs = _filesystem(spark, path)
    fs.delete(hadoop_path, True)
    if up_to is None:
        return
    stop = fs.makeQualified(_filesystem(spark, up_to)[0])
    parent = fs.makeQualified(hadoop_path).getParent()
    try:
        while parent is not None and not parent.equals(stop):
            if not str(parent).startswith(str(stop)) or len(fs.listStatus(parent)) > 0:
                return
            if not fs.delete(parent, False):
                return
            parent = parent.getParent()
    except Py4JJavaError:  # created or removed by a job running beside this one meanwhile
        return
