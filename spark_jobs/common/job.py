"""The shape every raw → curated JSON job shares: read, validate, dedupe, transform, publish."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from orchestration.core.errors import InputError
from orchestration.core.lake import Lake
from orchestration.core.settings import Settings, get_settings
from spark_jobs.common.contracts import Contract
from spark_jobs.common.partitions import (
    publish_partition,
    read_lines,
    remove,
    unreadable_file,
)
from spark_jobs.common.validation import accepted, mark_duplicates, rejected, validate


@dataclass(frozen=True)
class JobResult:
    rows_in: int
    rows_out: int
    quarantined: int

    def as_dict(self) -> dict[str, int]:
        return {"rows_in": self.rows_in, "rows_out": self.rows_out, "quarantined": self.quarantined}


def check(
    lines: DataFrame,
    contract: Contract,
    max_record_bytes: int,
    validator: Callable[[DataFrame, Contract, int], DataFrame] = validate,
) -> DataFrame:
    """Validate and mark duplicates: every input line once, with `_reason` null when accepted."""
    return mark_duplicates(validator(lines, contract, max_record_bytes), contract)


def without_accepted_text(checked: DataFrame) -> DataFrame:
    """Only quarantined rows need their raw text (accepted rows are written from typed columns)."""
    return checked.withColumn("value", F.when(F.col("_reason").isNotNull(), F.col("value")))


def counted(df: DataFrame) -> tuple[DataFrame, Observation]:
    """`df`, its rows counted as they pass (read `observation.get["rows"]` once it is written):
    the count comes with the write, with no Spark job of its own reading the files back."""
    observation = Observation()  # a name of its own: other jobs of the session run beside it
    return df.observe(observation, F.count(F.lit(1)).alias("rows")), observation


def run_contract_job(
    spark: SparkSession,
    settings: Settings,
    lake: Lake,
    day: dt.date,
    contract: Contract,
    table: str,
    transform: Callable[[DataFrame], DataFrame],
    validator: Callable[[DataFrame, Contract, int], DataFrame] = validate,
) -> JobResult:
    """Process landing day `day` of `contract.dataset` into `lake/<table>/dt=day` and quarantine.

    `validator` types the raw lines and gives each its `_reason` (JSON lines by default)."""
    lines = read_lines(spark, lake.raw(contract.dataset, day))
    # One pass over the input (parse, validate, dedupe) lands in a scratch Parquet copy; the lake
    # and quarantine partitions are then cheap columnar reads of it. (Caching the checked rows
    # instead cost more: at 10M lines the cache spills, and it is read twice.)
    scratch = lake.scratch(table, day)
    try:
        checked = without_accepted_text(
            check(lines, contract, settings.max_record_bytes, validator)
        )
        try:
            checked.write.mode("overwrite").parquet(scratch)
        except Exception as error:  # Spark's JVM errors have no narrower Python type
            user_error = unreadable_file(error, day.isoformat())
            if user_error is None:
                raise
            raise user_error from None
        # Each read below names the schema its writer wrote: inferring it is a Spark job each
        # (up to seconds in a cold JVM; beside the other notification job's pass, the whole
        # cold run did not measurably change: docs/benchmarks.md).
        checked = spark.read.schema(checked.schema).parquet(scratch)
        out_path = lake.curated(table, day)
        quarantine_path = lake.quarantine(table, day)
        retention = settings.publish_retention
        curated, curated_rows = counted(transform(accepted(checked, contract)))
        quarantine, quarantine_rows = counted(rejected(checked))
        publish_partition(curated, out_path, retention)
        publish_partition(quarantine, quarantine_path, retention)
        rows_out, quarantined = curated_rows.get["rows"], quarantine_rows.get["rows"]
        # Every line is either accepted or quarantined, so the input count needs no extra pass.
        return JobResult(rows_in=rows_out + quarantined, rows_out=rows_out, quarantined=quarantined)
    finally:
        remove(spark, scratch, up_to=lake.root)


def iso_date(text: str) -> dt.date:
    """argparse type of a `--date`: a real calendar date, or a one-line usage error."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid date (YYYY-MM-DD)") from None


class Counts(Protocol):
    def as_dict(self) -> dict[str, int]: ...


def report(job: Callable[[], Counts]) -> int:
    """Run a job from its command line: print its row counts (exit 0), or a user's mistake (bad
    or missing input) in one line on stderr (exit 2); anything else is a bug and keeps its
    traceback."""
    try:
        print(job().as_dict())
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def daily_main(
    run: Callable[[Settings, Lake, dt.date], JobResult], description: str, argv: list[str] | None
) -> int:
    """Command-line entry point of a daily job: `--date YYYY-MM-DD`, prints the row counts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--date", required=True, type=iso_date, help="landing date")
    args = parser.parse_args(argv)
    settings = get_settings()
    return report(lambda: run(settings, Lake.from_settings(settings), args.date))
