"""listings_postprocessing: a listings scrape (CSV) → lake/listings and per-neighbourhood price
and availability statistics in lake/listings_neighbourhood_stats (DESIGN §5.5)."""

from __future__ import annotations

import datetime as dt
import sys

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from spark_jobs.common.contracts import LISTINGS
from spark_jobs.common.job import JobResult, daily_main, run_contract_job
from spark_jobs.common.partitions import publish_partition, read_published
from spark_jobs.common.session import get_spark
from spark_jobs.common.validation import validate_csv

TABLE = "listings"
STATS_TABLE = "listings_neighbourhood_stats"


def transform_listings(listings: DataFrame) -> DataFrame:
    """Clean listings: typed columns (price in dollars as decimal), one row per id."""
    return listings.select(*[f.name for f in LISTINGS.fields])


def neighbourhood_stats(listings: DataFrame) -> DataFrame:
    """Per neighbourhood: listings, price min / median / mean / max, mean availability and the
    share of listings available at least one night in the next year."""
    price = F.col("price").cast("double")
    return (
        listings.groupBy("neighbourhood")
        .agg(
            F.count("*").alias("listings"),
            F.min("price").alias("min_price"),
            F.round(F.median(price), 2).alias("median_price"),
            F.round(F.avg(price), 2).alias("mean_price"),
            F.max("price").alias("max_price"),
            F.round(F.avg("availability_365"), 1).alias("mean_availability_365"),
            F.round(F.avg(F.when(F.col("availability_365") > 0, 1.0).otherwise(0.0)), 3).alias(
                "available_share"
            ),
        )
        .orderBy("neighbourhood")
    )


def run(settings: Settings, lake: Lake, day: dt.date) -> JobResult:
    spark = get_spark(settings)
    result = run_contract_job(
        spark, settings, lake, day, LISTINGS, TABLE, transform_listings, validator=validate_csv
    )
    stats = neighbourhood_stats(read_published(spark, lake.curated(TABLE, day)))
    publish_partition(stats.coalesce(1), lake.curated(STATS_TABLE, day), settings.publish_retention)
    return result


def main(argv: list[str] | None = None) -> int:
    return daily_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
