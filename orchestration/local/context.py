"""What a task function is given and returns: the contract between the runner and the tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from orchestration.core.shards import Shard

Metrics = dict[str, Any]


@dataclass(frozen=True)
class TaskContext:
    settings: Settings
    lake: Lake  # built once by the runner; every task and job uses this one
    params: dict[str, str]
    log_path: str
    shard: Shard | None = None  # the shard of a sharded task
    pipeline: str = ""
    run_id: str = ""
    task: str = ""

    @property
    def artifacts(self) -> str:
        """Where this task run's artefacts are kept in the lake (dbt's, on AWS)."""
        return self.lake.run_artifacts(self.pipeline, self.run_id, self.task)

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.params["date"])

    @property
    def month(self) -> str:
        return self.params["month"]


TaskFn = Callable[[TaskContext], Metrics]
