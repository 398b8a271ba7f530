"""The task functions the pipelines declare (the composition root of a run): each adapts the
runner's context to one job, dbt build or output. Named as the tasks that run them."""

from __future__ import annotations

from orchestration.local.context import Metrics, TaskContext
from orchestration.local.dbt import (
    ACE_SELECTION,
    DAILY_EXCLUDE,
    SCHEDULED_BUILD,
    SOCIAL_SELECTION,
    USAGE_SELECTION,
    run_dbt,
)


def _dbt(ctx: TaskContext, args: list[str], params: dict[str, str]) -> None:
    run_dbt(ctx.settings, ctx.lake, args, params, ctx.log_path, ctx.artifacts)


# The jobs are imported where they run: a process that only declares or renders the pipelines
# (a Lambda, the CDK app) never loads Spark.


def release_spark() -> None:
    """End the process's Spark session and JVM (its Spark tasks are done)."""
    from spark_jobs.common.session import release_spark as release

    release()


# What a run in a process of its own frees once it has no task of that kind left (Runner).
RELEASE_WHEN_DONE = {"spark": release_spark}


def notification_attempted_daily(ctx: TaskContext) -> Metrics:
    from spark_jobs import notification_attempted

    return notification_attempted.run(ctx.settings, ctx.lake, ctx.day).as_dict()


def notification_delivered_daily(ctx: TaskContext) -> Metrics:
    from spark_jobs import notification_delivered

    return notification_delivered.run(ctx.settings, ctx.lake, ctx.day).as_dict()


def outcome_experience_lookup_daily(ctx: TaskContext) -> Metrics:
    from spark_jobs import outcome_experience_lookup

    return outcome_experience_lookup.run(ctx.settings, ctx.lake, ctx.day).as_dict()


def listings_postprocessing(ctx: TaskContext) -> Metrics:
    from spark_jobs import listings_postprocessing

    return listings_postprocessing.run(ctx.settings, ctx.lake, ctx.day).as_dict()


def social_curation_daily(ctx: TaskContext) -> Metrics:
    from spark_jobs import social_curation

    return social_curation.run(ctx.settings, ctx.lake, ctx.day).as_dict()


def social_analytics(ctx: TaskContext) -> Metrics:
    """One shard's statistics, then the documents and brand pages of what it published."""
    from orchestration.outputs.social_documents import write_documents
    from spark_jobs import social_analytics as job

    result = job.run(ctx.settings, ctx.lake, ctx.day, ctx.shard)
    documents = write_documents(ctx.lake, ctx.day, result.event_rows, result.brand_rows)
    return {**result.as_dict(), "documents": documents}


def dbt_build_social(ctx: TaskContext) -> Metrics:
    build = [*SCHEDULED_BUILD, "--select", *SOCIAL_SELECTION]
    _dbt(ctx, build, {})
    return {}


def load(ctx: TaskContext) -> Metrics:
    """Load one incoming file (path or s3:// URI) into every configured warehouse (§5.3)."""
    from ingestion.loader import load as load_file
    from ingestion.warehouse import configured_warehouses

    results = load_file(ctx.params["uri"], configured_warehouses(ctx.settings, ctx.lake))
    loaded = sum(r.rows for r in results if not r.skipped)
    return {"rows_in": loaded, "rows_out": loaded}


def dim_customer_daily(ctx: TaskContext) -> Metrics:
    from ingestion.replicate import replicate_customers

    return replicate_customers(ctx.settings, ctx.lake, ctx.day)


def dbt_build_ace(ctx: TaskContext) -> Metrics:
    """The daily ACE build for landing day `date` (the months it touched)."""
    args = [*SCHEDULED_BUILD, "--select", *ACE_SELECTION, *DAILY_EXCLUDE]
    _dbt(ctx, args, {"ACE_LANDING_DATE": ctx.day.isoformat()})
    return {}


def dbt_build_ace_month(ctx: TaskContext) -> Metrics:
    args = [*SCHEDULED_BUILD, "--select", *ACE_SELECTION]
    _dbt(ctx, args, {"ACE_BILLING_MONTH": ctx.month})
    return {}


def dbt_build_usage(ctx: TaskContext) -> Metrics:
    # Stale events (nothing delivered for a day: the stream or its producers are down) fail the
    # run before the models are rebuilt over incomplete data.
    freshness = ["source", "freshness", "--select", "source:lake.usage_events"]
    _dbt(ctx, freshness, {})
    build = [*SCHEDULED_BUILD, "--select", *USAGE_SELECTION]
    _dbt(ctx, build, {})
    return {}


def register_partitions(ctx: TaskContext) -> Metrics:
    from orchestration.local.catalog import register_partitions as register

    return register(ctx.lake)


def export_finance(ctx: TaskContext) -> Metrics:
    from orchestration.outputs.exports import export_month

    return export_month(ctx.settings, ctx.lake, ctx.month)
