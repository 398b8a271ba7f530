"""Run records: one JSON line per task attempt, plus the latest state of each (pipeline, params)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import urllib.parse
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestration.core.lake import Lake

_write_lock = threading.Lock()


@dataclass
class TaskRecord:
    run_id: str
    pipeline: str
    params: dict[str, str]
    task: str
    attempt: int
    status: str  # succeeded | failed | skipped | blocked
    started_at: str
    ended_at: str
    seconds: float
    rows_in: int | None = None
    rows_out: int | None = None
    quarantined: int | None = None
    error: str | None = None
    log: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def history_path(lake: Lake) -> str:
    return os.path.join(lake.runs, "history.jsonl")


def run_key(params: dict[str, str]) -> str:
    """A run's parameters as one file name: the same parameters give the same name, and no value
    reaches outside its folder (the `/` and `..` of a URI are escaped, a long one is hashed)."""
    text = "_".join(f"{k}={v}" for k, v in sorted(params.items())) or "default"
    safe = urllib.parse.quote(text, safe="=_-:,")
    if len(safe) > 120:
        safe = safe[:80] + "-" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return safe


def state_path(lake: Lake, pipeline: str, params: dict[str, str]) -> str:
    return os.path.join(lake.runs, "state", pipeline, f"{run_key(params)}.json")


def append_record(lake: Lake, record: TaskRecord) -> None:
    path = history_path(lake)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with _write_lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(record), sort_keys=True) + "\n")


def read_history(lake: Lake) -> list[dict[str, Any]]:
    path = history_path(lake)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_state(lake: Lake, pipeline: str, params: dict[str, str]) -> dict[str, str]:
    """Task name → status of the latest run for these parameters (empty if never run)."""
    path = state_path(lake, pipeline, params)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["tasks"]


def save_state(
    lake: Lake, pipeline: str, params: dict[str, str], run_id: str, tasks: dict[str, str]
) -> None:
    path = state_path(lake, pipeline, params)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with _write_lock:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"run_id": run_id, "tasks": tasks}, handle, sort_keys=True, indent=1)
        os.replace(tmp, path)
