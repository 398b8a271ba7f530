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

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.params["date"])

    @property
    def month(self) -> str:
        return self.params["month"]


TaskFn = Callable[[TaskContext], Metrics]
