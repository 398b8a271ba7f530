"""Every pipeline, declared once: the composition root read by the local runner and by the AWS
renderer (`orchestration.aws.render`: EventBridge rules, Batch job definitions, EMR steps, Step
Functions). A task names the function of `orchestration.tasks` it runs, and is named after it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from orchestration import tasks
from orchestration.core.shards import Shard
from orchestration.local.context import TaskFn

TaskKind = Literal["spark", "python", "dbt"]
Param = Literal["date", "month", "uri"]
# Where a pipeline's tasks run on AWS: AWS Batch containers chained by Step Functions, or the
# steps of an ephemeral EMR cluster (Spark tasks only).
Platform = Literal["batch", "emr"]
# Which date or month a scheduled run processes, relative to the time the schedule fires.
ScheduleOffset = Literal["today", "yesterday", "previous_month", "seven_days_ago"]


@dataclass(frozen=True)
class Task:
    name: str
    kind: TaskKind
    run: TaskFn  # the function of orchestration.tasks that does it
    depends_on: tuple[str, ...] = ()
    retries: int | None = None  # None: settings.task_retries
    # Shards of a sharded task (DESIGN §5.2): locally parallel tasks, on AWS one Batch job each
    # (CURRENT_SHARD of NUM_SHARDS); NUM_SHARDS in the environment overrides the count.
    shards: int = 1
    timeout_minutes: int = 60
    vcpus: int = 2
    memory_mib: int = 8192
    # Reads or writes the warehouse (RDS/Redshift): on AWS its job gets WAREHOUSE_URL, with the
    # password, from Secrets Manager; no other job sees it.
    uses_warehouse: bool = False
    # Stands in locally for what a managed service does on AWS (Glue partition projection):
    # never deployed, and not run on an s3:// lake.
    local_only: bool = False
    shard: Shard | None = None  # set on the copies a sharded task is expanded into

    def expand(self, total: int | None = None, only: Shard | None = None) -> list[Task]:
        """The copies that run a sharded task: one per shard (`<name>@<K>-of-<N>`, N = `total`
        or the declared count), or only shard `only`."""
        shards = [only] if only else Shard.all_of(total or self.shards)
        return [replace(self, name=f"{self.name}@{s.label}", shard=s) for s in shards]


@dataclass(frozen=True)
class S3Trigger:
    """Run once per object created under `prefix` of the lake bucket (EventBridge S3 event)."""

    prefix: str


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    param: Param
    tasks: tuple[Task, ...]
    schedule: str | None = None  # EventBridge cron syntax
    schedule_offset: ScheduleOffset | None = None  # required with a schedule
    trigger: S3Trigger | None = None
    platform: Platform = "batch"

    def __post_init__(self) -> None:
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"pipeline {self.name}: duplicate task names")
        for task in self.tasks:
            unknown = set(task.depends_on) - set(names)
            if unknown:
                raise ValueError(f"{self.name}.{task.name} depends on unknown {sorted(unknown)}")
        if (self.schedule is None) != (self.schedule_offset is None):
            raise ValueError(f"pipeline {self.name}: schedule and schedule_offset go together")
        if self.schedule and self.trigger:
            raise ValueError(f"pipeline {self.name}: a schedule or an S3 trigger, not both")
        if self.platform == "emr" and any(t.kind != "spark" for t in self.tasks):
            raise ValueError(f"pipeline {self.name}: an EMR pipeline runs Spark tasks only")

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"pipeline {self.name} has no task {name}")

    def graph(self) -> dict[str, set[str]]:
        return {t.name: set(t.depends_on) for t in self.tasks}

    def sharded(self, total: int | None = None, only: Shard | None = None) -> Pipeline:
        """The pipeline as it runs: each sharded task expanded into its shards (all of them, or
        `only` one, as in an AWS Batch job that was given CURRENT_SHARD), and its dependents
        waiting for every shard."""
        expanded = {t.name: t.expand(total, only) if t.shards > 1 else [t] for t in self.tasks}
        tasks = tuple(
            replace(copy, depends_on=tuple(n.name for d in t.depends_on for n in expanded[d]))
            for t in self.tasks
            for copy in expanded[t.name]
        )
        return replace(self, tasks=tasks)

    def for_aws(self) -> Pipeline:
        """The pipeline as it runs on AWS (and on any s3:// lake): without its local-only tasks,
        which nothing else may depend on."""
        kept = tuple(t for t in self.tasks if not t.local_only)
        names = {t.name for t in kept}
        missing = {d for t in kept for d in t.depends_on} - names
        if missing:
            raise ValueError(f"pipeline {self.name}: tasks depend on local-only {sorted(missing)}")
        return replace(self, tasks=kept)

    def only(self, name: str) -> Pipeline:
        """This pipeline reduced to one task, without its dependencies (how AWS runs a task:
        one Batch job each, the order kept by Step Functions)."""
        task = replace(self.task(name), depends_on=())
        # Its own name, so its run lock and resume state are apart from the whole pipeline's.
        return replace(self, name=f"{self.name}.{name}", tasks=(task,))


ACE_DAILY = Pipeline(
    name="ace_daily",
    description="ACE billing, daily: curate the landing day, replicate customers, build ACE models.",
    param="date",
    schedule="cron(0 5 * * ? *)",
    schedule_offset="yesterday",
    tasks=(
        Task(
            "notification_attempted_daily",
            "spark",
            tasks.notification_attempted_daily,
            vcpus=4,
            memory_mib=16384,
        ),
        Task(
            "notification_delivered_daily",
            "spark",
            tasks.notification_delivered_daily,
            vcpus=4,
            memory_mib=16384,
        ),
        Task(
            "outcome_experience_lookup_daily",
            "spark",
            tasks.outcome_experience_lookup_daily,
            depends_on=("notification_attempted_daily", "notification_delivered_daily"),
        ),
        Task(
            "dim_customer_daily",
            "python",
            tasks.dim_customer_daily,
            depends_on=("notification_attempted_daily", "notification_delivered_daily"),
            uses_warehouse=True,
        ),
        Task(
            "dbt_build_ace",
            "dbt",
            tasks.dbt_build_ace,
            depends_on=("outcome_experience_lookup_daily", "dim_customer_daily"),
        ),
        Task(
            "register_partitions",
            "python",
            tasks.register_partitions,
            depends_on=("dbt_build_ace",),
            # On AWS, Glue partition projection finds every partition: nothing to register.
            local_only=True,
        ),
    ),
)

ACE_MONTHLY = Pipeline(
    name="ace_monthly",
    description="ACE billing, monthly: rebuild the month in full and export it for Finance.",
    param="month",
    schedule="cron(0 6 1 * ? *)",
    schedule_offset="previous_month",
    tasks=(
        Task("dbt_build_ace_month", "dbt", tasks.dbt_build_ace_month),
        Task("export_finance", "python", tasks.export_finance, depends_on=("dbt_build_ace_month",)),
    ),
)

LISTINGS_WEEKLY = Pipeline(
    name="listings_weekly",
    description="Listings, weekly on an ephemeral EMR cluster: clean the scrape, price statistics.",
    param="date",
    schedule="cron(0 7 ? * MON *)",
    schedule_offset="today",
    platform="emr",
    tasks=(Task("listings_postprocessing", "spark", tasks.listings_postprocessing),),
)

WAREHOUSE_LOAD = Pipeline(
    name="warehouse_load",
    description="Warehouse load (§5.3): one file dropped under incoming/<table>/, on its S3 event.",
    param="uri",
    trigger=S3Trigger(prefix="incoming/"),
    tasks=(
        Task(
            "load",
            "python",
            tasks.load,
            vcpus=1,
            memory_mib=4096,
            timeout_minutes=30,
            uses_warehouse=True,
        ),
    ),
)

USAGE_DAILY = Pipeline(
    name="usage_daily",
    description="Usage events (§5.4): rebuild the usage models over what Firehose delivered.",
    param="date",
    schedule="cron(30 5 * * ? *)",
    schedule_offset="yesterday",
    tasks=(Task("dbt_build_usage", "dbt", tasks.dbt_build_usage, vcpus=1, memory_mib=4096),),
)

SOCIAL_DAILY = Pipeline(
    name="social_daily",
    description=(
        "Social analytics (§5.2): curate the landing day, statistics per event and brand in "
        "NUM_SHARDS parallel shards, documents and brand pages, report models."
    ),
    param="date",
    schedule="cron(0 6 * * ? *)",
    schedule_offset="yesterday",
    tasks=(
        Task("social_curation_daily", "spark", tasks.social_curation_daily),
        Task(
            "social_analytics",
            "spark",
            tasks.social_analytics,
            depends_on=("social_curation_daily",),
            shards=2,
        ),
        Task(
            "dbt_build_social",
            "dbt",
            tasks.dbt_build_social,
            depends_on=("social_analytics",),
            vcpus=1,
            memory_mib=4096,
        ),
    ),
)

PIPELINES: dict[str, Pipeline] = {
    p.name: p
    for p in (ACE_DAILY, ACE_MONTHLY, LISTINGS_WEEKLY, WAREHOUSE_LOAD, USAGE_DAILY, SOCIAL_DAILY)
}
