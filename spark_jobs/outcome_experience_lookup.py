"""outcome_experience_lookup_daily: the day's experience snapshot → lake/experiences (one row each)."""

from __future__ import annotations

import datetime as dt
import sys

from pyspark.sql import DataFrame

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from spark_jobs.common.contracts import EXPERIENCES
from spark_jobs.common.job import JobResult, daily_main, run_contract_job
from spark_jobs.common.session import get_spark

TABLE = "experiences"


def transform_experiences(experiences: DataFrame) -> DataFrame:
    """The experience → outcome lookup; duplicates were already resolved to the latest update."""
    return experiences.select(
        "experience_id", "client_id", "experience_name", "outcome", "updated_at"
    )


def run(settings: Settings, lake: Lake, day: dt.date) -> JobResult:
    spark = get_spark(settings)
    return run_contract_job(spark, settings, lake, day, EXPERIENCES, TABLE, transform_experiences)


def main(argv: list[str] | None = None) -> int:
    return daily_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
