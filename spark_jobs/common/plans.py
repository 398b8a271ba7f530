"""Plan shapes by input size: a small input runs as one partition.

Spark plans a join, a grouping or a window over partitioned rows as a shuffle between stages;
adaptive execution then runs each stage as a job of its own. On a small input those stages cost
far more than the rows: the social statistics of a demo lake were ~80 jobs for a dozen rows. Rows
gathered into one partition already satisfy every such operator, so the plan runs without
exchanges (docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame


def estimated_bytes(df: DataFrame) -> int:
    """Spark's estimate of a DataFrame's size, from its optimized plan: for a table read, the
    total size of its files as listed, every partition's (an upper bound of what a partition
    filter reads). Runs no job."""
    return int(str(df._jdf.queryExecution().optimizedPlan().stats().sizeInBytes()))


def fits_one_partition(frames: Iterable[DataFrame], limit_bytes: int) -> bool:
    """Whether the inputs together are at most `limit_bytes` (SPARK_ONE_PARTITION_BYTES)."""
    total = 0
    for df in frames:
        total += estimated_bytes(df)
        if total > limit_bytes:
            return False
    return True


def gathered(df: DataFrame, one_partition: bool) -> DataFrame:
    """`df` in one partition (without a shuffle) when the job runs as one, else as it is."""
    return df.coalesce(1) if one_partition else df
