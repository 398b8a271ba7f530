"""Local implementations of the tasks the pipelines declare: thin adapters over the jobs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestration.dbt import (
    ACE_SELECTION,
    DAILY_EXCLUDE,
    SCHEDULED_BUILD,
    SOCIAL_SELECTION,
    USAGE_SELECTION,
    run_dbt,
)
from orchestration.lake import Lake
from orchestration.settings import Settings
from orchestration.shards import Shard

Metrics = dict[str, Any]


@dataclass(frozen=True)
class TaskContext:
    settings: Settings
    lake: Lake
    params: dict[str, str]
    log_path: str
    shard: Shard | None = None  # the shard of a sharded task

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.params["date"])

    @property
    def month(self) -> str:
        return self.params["month"]


def notification_attempted_daily(ctx: TaskContext) -> Metrics:
    from spark_jobs import notification_attempted

    return notification_attempted.run(ctx.settings, ctx.day).as_dict()


def notification_delivered_daily(ctx: TaskContext) -> Metrics:
    from spark_jobs import notification_delivered

    return notification_delivered.run(ctx.settings, ctx.day).as_dict()


def outcome_experience_lookup_daily(ctx: TaskContext) -> Metrics:
    from spark_jobs import outcome_experience_lookup

    return outcome_experience_lookup.run(ctx.settings, ctx.day).as_dict()


def listings_postprocessing(ctx: TaskContext) -> Metrics:
    from spark_jobs import listings_postprocessing

    return listings_postprocessing.run(ctx.settings, ctx.day).as_dict()


def social_curation_daily(ctx: TaskContext) -> Metrics:
    from spark_jobs import social_curation

    return social_curation.run(ctx.settings, ctx.day).as_dict()


def social_analytics(ctx: TaskContext) -> Metrics:
    from spark_jobs import social_analytics as job

    return job.run(ctx.settings, ctx.day, ctx.shard).as_dict()


def dbt_build_social(ctx: TaskContext) -> Metrics:
    build = [*SCHEDULED_BUILD, "--select", *SOCIAL_SELECTION]
    run_dbt(ctx.settings, ctx.lake, build, {}, ctx.log_path)
    return {}


def load_incoming(ctx: TaskContext) -> Metrics:
    """Load one incoming file (path or s3:// URI) into every configured warehouse (§5.3)."""
    from ingestion.loader import load
    from ingestion.warehouse import configured_warehouses

    results = load(ctx.params["uri"], configured_warehouses(ctx.settings, ctx.lake))
    loaded = sum(r.rows for r in results if not r.skipped)
    return {"rows_in": loaded, "rows_out": loaded}


def dim_customer_daily(ctx: TaskContext) -> Metrics:
    from ingestion.replicate import replicate_customers

    return replicate_customers(ctx.settings, ctx.lake, ctx.day)


def dbt_build_ace_daily(ctx: TaskContext) -> Metrics:
    args = [*SCHEDULED_BUILD, "--select", *ACE_SELECTION, *DAILY_EXCLUDE]
    run_dbt(ctx.settings, ctx.lake, args, {"ACE_LANDING_DATE": ctx.day.isoformat()}, ctx.log_path)
    return {}


def dbt_build_ace_month(ctx: TaskContext) -> Metrics:
    args = [*SCHEDULED_BUILD, "--select", *ACE_SELECTION]
    run_dbt(ctx.settings, ctx.lake, args, {"ACE_BILLING_MONTH": ctx.month}, ctx.log_path)
    return {}


def dbt_build_usage(ctx: TaskContext) -> Metrics:
    # Stale events (nothing delivered for a day: the stream or its producers are down) fail the
    # run before the models are rebuilt over incomplete data.
    freshness = ["source", "freshness", "--select", "source:lake.usage_events"]
    run_dbt(ctx.settings, ctx.lake, freshness, {}, ctx.log_path)
    build = [*SCHEDULED_BUILD, "--select", *USAGE_SELECTION]
    run_dbt(ctx.settings, ctx.lake, build, {}, ctx.log_path)
    return {}


def register_partitions(ctx: TaskContext) -> Metrics:
    from orchestration.catalog import register_partitions as register

    return register(ctx.lake)


def export_finance(ctx: TaskContext) -> Metrics:
    from orchestration.exports import export_month

    return export_month(ctx.lake, ctx.month)


TASKS: dict[str, Callable[[TaskContext], Metrics]] = {
    fn.__name__: fn
    for fn in (
        notification_attempted_daily,
        notification_delivered_daily,
        outcome_experience_lookup_daily,
        listings_postprocessing,
        social_curation_daily,
        social_analytics,
        dbt_build_social,
        load_incoming,
        dim_customer_daily,
        dbt_build_ace_daily,
        dbt_build_ace_month,
        dbt_build_usage,
        register_partitions,
        export_finance,
    )
}
