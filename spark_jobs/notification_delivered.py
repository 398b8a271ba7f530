"""notification_delivered_daily: raw delivery receipts of one landing day → lake/notification_receipts."""

from __future__ import annotations

import datetime as dt
import sys

from pyspark.sql import DataFrame

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from spark_jobs.common.contracts import NOTIFICATION_DELIVERED
from spark_jobs.common.job import JobResult, daily_main, run_contract_job
from spark_jobs.common.session import get_spark

TABLE = "notification_receipts"


def transform_receipts(receipts: DataFrame) -> DataFrame:
    """Receipts keep every contract column; several per notification are normal (§4)."""
    return receipts.select("notification_id", "status", "reported_at", "provider")


def run(settings: Settings, lake: Lake, day: dt.date) -> JobResult:
    spark = get_spark(settings)
    return run_contract_job(
        spark, settings, lake, day, NOTIFICATION_DELIVERED, TABLE, transform_receipts
    )


def main(argv: list[str] | None = None) -> int:
    return daily_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
