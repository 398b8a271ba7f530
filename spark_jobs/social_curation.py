"""social_curation_daily: the landing day's ticketing, users and social raw files (§4) → their
curated lake tables (validated, deduplicated within the day; rejects quarantined)."""

from __future__ import annotations

import datetime as dt
import sys
from concurrent.futures import ThreadPoolExecutor

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from spark_jobs.common.contracts import SOCIAL_CONTRACTS, Contract
from spark_jobs.common.job import JobResult, daily_main, run_contract_job
from spark_jobs.common.partitions import exists
from spark_jobs.common.session import get_spark


def table_of(contract: Contract) -> str:
    """`ticketing/orders` → `ticketing_orders`: the curated table of a raw dataset."""
    return contract.dataset.replace("/", "_")


def run(settings: Settings, lake: Lake, day: dt.date) -> JobResult:
    """Curate every dataset that landed on `day`; a dataset with nothing landed that day is
    skipped (these systems do not deliver every day), not an error."""
    spark = get_spark(settings)
    landed = [c for c in SOCIAL_CONTRACTS if exists(spark, lake.raw(c.dataset, day))]

    def curate(contract: Contract) -> JobResult:
        # accepted() already keeps exactly the contract's typed columns: nothing to transform.
        return run_contract_job(
            spark, settings, lake, day, contract, table_of(contract), lambda df: df
        )

    # The datasets are small and independent: their Spark jobs share the session's cores.
    with ThreadPoolExecutor(max_workers=settings.parallelism) as pool:
        results = list(pool.map(curate, landed))
    return JobResult(
        rows_in=sum(r.rows_in for r in results),
        rows_out=sum(r.rows_out for r in results),
        quarantined=sum(r.quarantined for r in results),
    )


def main(argv: list[str] | None = None) -> int:
    return daily_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
