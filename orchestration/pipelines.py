"""Every pipeline, declared once: the composition root read by the local runner (and, later, the
AWS renderers). A task names what it runs; `orchestration.tasks` holds the local implementations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TaskKind = Literal["spark", "python", "dbt"]
Param = Literal["date", "month"]


@dataclass(frozen=True)
class Task:
    name: str
    kind: TaskKind
    run: str  # name of the function in orchestration.tasks
    depends_on: tuple[str, ...] = ()
    retries: int | None = None  # None: settings.task_retries


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    param: Param
    tasks: tuple[Task, ...]
    schedule: str | None = None  # EventBridge cron syntax
    schedule_offset: str = field(default="")  # which date/month a scheduled run processes

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"pipeline {self.name} has no task {name}")

    def graph(self) -> dict[str, set[str]]:
        return {t.name: set(t.depends_on) for t in self.tasks}


ACE_DAILY = Pipeline(
    name="ace_daily",
    description="ACE billing, daily: curate the landing day, replicate customers, build ACE models.",
    param="date",
    schedule="cron(0 5 * * ? *)",
    schedule_offset="yesterday",
    tasks=(
        Task("notification_attempted_daily", "spark", "notification_attempted_daily"),
        Task("notification_delivered_daily", "spark", "notification_delivered_daily"),
        Task(
            "outcome_experience_lookup_daily",
            "spark",
            "outcome_experience_lookup_daily",
            depends_on=("notification_attempted_daily", "notification_delivered_daily"),
        ),
        Task(
            "dim_customer_daily",
            "python",
            "dim_customer_daily",
            depends_on=("notification_attempted_daily", "notification_delivered_daily"),
        ),
        Task(
            "dbt_build_ace",
            "dbt",
            "dbt_build_ace_daily",
            depends_on=("outcome_experience_lookup_daily", "dim_customer_daily"),
        ),
        Task("register_partitions", "python", "register_partitions", depends_on=("dbt_build_ace",)),
    ),
)

ACE_MONTHLY = Pipeline(
    name="ace_monthly",
    description="ACE billing, monthly: rebuild the month in full and export it for Finance.",
    param="month",
    schedule="cron(0 6 1 * ? *)",
    schedule_offset="previous_month",
    tasks=(
        Task("dbt_build_ace_month", "dbt", "dbt_build_ace_month"),
        Task("export_finance", "python", "export_finance", depends_on=("dbt_build_ace_month",)),
    ),
)

PIPELINES: dict[str, Pipeline] = {p.name: p for p in (ACE_DAILY, ACE_MONTHLY)}
