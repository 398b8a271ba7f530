"""notification_attempted_daily: raw notification attempts of one landing day → lake/notification_attempts."""

from __future__ import annotations

import datetime as dt
import sys

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from spark_jobs.common.contracts import NOTIFICATION_ATTEMPTED
from spark_jobs.common.job import JobResult, daily_main, run_contract_job
from spark_jobs.common.session import get_spark

TABLE = "notification_attempts"


def transform_attempts(attempts: DataFrame, pii_salt: str) -> DataFrame:
    """Replace the PII `destination` by its salted sha256 hash; keep the other contract columns."""
    destination_hash = F.when(
        F.col("destination").isNotNull(),
        F.sha2(F.concat(F.lit(pii_salt), F.col("destination")), 256),
    )
    return attempts.select(
        "notification_id",
        "client_id",
        "customer_id",
        "experience_id",
        "channel",
        destination_hash.alias("destination_hash"),
        "attempted_at",
    )


def run(settings: Settings, lake: Lake, day: dt.date) -> JobResult:
    spark = get_spark(settings)
    return run_contract_job(
        spark,
        settings,
        lake,
        day,
        NOTIFICATION_ATTEMPTED,
        TABLE,
        lambda df: transform_attempts(df, settings.pii_salt),
    )


def main(argv: list[str] | None = None) -> int:
    return daily_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
