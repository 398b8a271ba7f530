"""The local executor: runs a pipeline's tasks in dependency order, in parallel, with retries,
per-task logs, a run history and resume after failure."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING, Any

from rich.console import Console

from orchestration.core.errors import InputError
from orchestration.core.lake import Lake
from orchestration.core.locks import LockHeld, lake_lock, new_holder
from orchestration.core.settings import Settings
from orchestration.local.context import TaskContext
from orchestration.local.history import TaskRecord, append_record, load_state, run_key, save_state

if TYPE_CHECKING:
    # The runner executes whatever pipeline it is given; it depends on no declaration.
    from orchestration.pipelines import Pipeline, Task


class RunError(InputError):
    """A run that could not start or did not finish; the message says what to do."""


@dataclass
class RunResult:
    run_id: str
    pipeline: str
    params: dict[str, str]
    records: dict[str, TaskRecord] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return all(r.status in ("succeeded", "skipped") for r in self.records.values())

    @property
    def failed_tasks(self) -> list[str]:
        return [n for n, r in self.records.items() if r.status == "failed"]


def parse_params(pipeline: Pipeline, value: str) -> dict[str, str]:
    """Check the pipeline's parameter (`--date YYYY-MM-DD`, `--month YYYY-MM` or `--uri PATH`)."""
    if pipeline.param == "uri":
        if not value.strip():
            raise RunError("--uri must name a file (a path or s3://bucket/key)")
        return {"uri": value}
    if pipeline.param == "date":
        try:
            return {"date": dt.date.fromisoformat(value).isoformat()}
        except ValueError:
            raise RunError(f"--date {value!r} is not a valid date (YYYY-MM-DD)") from None
    try:
        month = dt.datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise RunError(f"--month {value!r} is not a valid month (YYYY-MM)") from None
    return {"month": month.strftime("%Y-%m")}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@contextmanager
def run_lock(lake: Lake, pipeline: str, params: dict[str, str], run_id: str | None = None):
    """Refuse a second concurrent run of the same pipeline and parameters, naming the run that
    holds the lock: a file on a folder lake (reclaimed when its process is gone), a conditional
    S3 object on an S3 lake, shared by every machine (taken over once expired)."""
    key = " ".join(f"{k}={v}" for k, v in sorted(params.items()))
    name = f"{pipeline}_{run_key(params)}"
    holder = new_holder(run_id or new_run_id())
    what = f"{pipeline} {key}"
    try:
        with lake_lock(lake, name, holder, what):
            yield holder
    except LockHeld as held:
        raise RunError(str(held)) from None


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


class Runner:
    """Executes pipelines locally: each task's function, given the one `Lake` built here."""

    def __init__(
        self,
        settings: Settings,
        console: Console | None = None,
        retry_backoff_seconds: float = 2.0,
        release: Mapping[str, Callable[[], object]] | None = None,
    ) -> None:
        """`release`: per task kind, what to free once a run has no task of that kind left to
        run (in the background, while the run goes on): for a process that ends with the run,
        e.g. the Spark JVM once the Spark tasks are done."""
        self.settings = settings
        self.lake = Lake.from_settings(settings)
        self.console = console or Console(stderr=True)
        self.retry_backoff_seconds = retry_backoff_seconds
        self.release = dict(release or {})

    def run(self, pipeline: Pipeline, params: dict[str, str], resume: bool = False) -> RunResult:
        # Sharded tasks run as one task per shard (in parallel), or as the one shard this
        # process was given (CURRENT_SHARD of NUM_SHARDS).
        pipeline = pipeline.sharded(self.settings.num_shards, self.settings.shard)
        if not self.lake.is_local:
            # What stands in locally for a managed service (partition registration for Glue's
            # projection) does not run against an S3 lake.
            pipeline = pipeline.for_aws()
        # One shard of a day is a run of its own (on AWS each shard is its own job run).
        shard = self.settings.shard
        locked = f"{pipeline.name}@{shard.label}" if shard else pipeline.name
        run_id = new_run_id()
        with run_lock(self.lake, locked, params, run_id):
            return self._run(pipeline, params, resume, run_id)

    def _run(
        self, pipeline: Pipeline, params: dict[str, str], resume: bool, run_id: str
    ) -> RunResult:
        result = RunResult(run_id, pipeline.name, params)
        previous = load_state(self.lake, pipeline.name, params) if resume else {}
        if resume and previous and all(s == "succeeded" for s in previous.values()):
            self.console.print(
                f"[yellow]{pipeline.name} {params}: last run succeeded; running it again"
            )
            previous = {}
        state = {t.name: "pending" for t in pipeline.tasks}
        label = " ".join(f"{k}={v}" for k, v in params.items())
        self.console.print(f"[bold]▶ {pipeline.name}[/] {label} (run {run_id})")

        sorter = TopologicalSorter(pipeline.graph())
        sorter.prepare()
        running: dict[Future[TaskRecord], Task] = {}
        releasing: dict[str, threading.Thread] = {}
        with ThreadPoolExecutor(max_workers=self.settings.parallelism) as pool:
            while sorter.is_active():
                for name in sorter.get_ready():
                    task = pipeline.task(name)
                    blocked_by = [d for d in task.depends_on if state[d] in ("failed", "blocked")]
                    if blocked_by or previous.get(name) == "succeeded":
                        status = "blocked" if blocked_by else "skipped"
                        record = self._instant_record(
                            run_id, pipeline, params, task, status, blocked_by
                        )
                        self._finish(result, state, record, pipeline, params, run_id)
                        sorter.done(name)
                        continue
                    self.console.print(f"  [cyan]…[/] {name} started")
                    running[pool.submit(self._run_task, run_id, pipeline, params, task)] = task
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = running.pop(future)
                    self._finish(result, state, future.result(), pipeline, params, run_id)
                    sorter.done(task.name)
                self._release_done_kinds(pipeline, state, releasing)
        for thread in releasing.values():
            thread.join()
        self._report(result, pipeline, params)
        return result

    def _release_done_kinds(
        self, pipeline: Pipeline, state: dict[str, str], releasing: dict[str, threading.Thread]
    ) -> None:
        """Start the release of each kind of task that ran and has no task left to run."""
        for kind, release in self.release.items():
            statuses = [state[t.name] for t in pipeline.tasks if t.kind == kind]
            ran = any(s in ("succeeded", "failed") for s in statuses)
            if kind in releasing or not ran or "pending" in statuses:
                continue
            thread = threading.Thread(target=self._release_kind, args=(kind, release))
            releasing[kind] = thread
            thread.start()

    def _release_kind(self, kind: str, release: Callable[[], object]) -> None:
        try:
            release()
        except Exception as exc:  # the run's result does not depend on it
            self.console.print(
                f"  [yellow]![/] could not release the {kind} tasks' resources: {exc}"
            )

    def _finish(self, result, state, record: TaskRecord, pipeline, params, run_id) -> None:
        result.records[record.task] = record
        state[record.task] = record.status
        save_state(self.lake, pipeline.name, params, run_id, state)
        if record.status == "succeeded":
            counts = ", ".join(
                f"{k}={getattr(record, k):,}"
                for k in ("rows_in", "rows_out", "quarantined")
                if getattr(record, k) is not None
            )
            self.console.print(f"  [green]✔[/] {record.task} {record.seconds:.1f}s {counts}")
        elif record.status == "skipped":
            self.console.print(f"  [dim]↷ {record.task} already succeeded (resumed run)[/]")
        elif record.status == "blocked":
            self.console.print(f"  [yellow]⏸[/] {record.task} not run: {record.error}")
        else:
            self.console.print(
                f"  [red]✘[/] {record.task} failed: {record.error} (log: {record.log})"
            )

    def _instant_record(self, run_id, pipeline, params, task, status, blocked_by) -> TaskRecord:
        now = _now()
        error = f"upstream failed: {', '.join(blocked_by)}" if blocked_by else None
        record = TaskRecord(
            run_id, pipeline.name, params, task.name, 0, status, now, now, 0.0, error=error
        )
        append_record(self.lake, record)
        return record

    def _run_task(
        self, run_id: str, pipeline: Pipeline, params: dict[str, str], task: Task
    ) -> TaskRecord:
        log_dir = os.path.join(self.lake.runs, "logs", run_id)
        os.makedirs(log_dir, exist_ok=True)
        log_path = os.path.join(log_dir, f"{task.name}.log")
        retries = self.settings.task_retries if task.retries is None else task.retries
        fn = task.run
        ctx = TaskContext(
            self.settings,
            self.lake,
            dict(params),
            log_path,
            task.shard,
            pipeline=pipeline.name,
            run_id=run_id,
            task=task.name,
        )
        attempt = 0
        while True:
            attempt += 1
            started, clock = _now(), time.monotonic()
            try:
                metrics: dict[str, Any] = dict(fn(ctx) or {})
                status, error, retryable = "succeeded", None, False
            except Exception as exc:  # a task failure is recorded, never crashes the runner
                metrics, status = {}, "failed"
                # A bad input fails the same way again; anything else may pass on a retry.
                retryable = getattr(exc, "retryable", True)
                error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
                with open(log_path, "a", encoding="utf-8") as log:
                    log.write(f"attempt {attempt} failed\n{traceback.format_exc()}\n")
            record = TaskRecord(
                run_id,
                pipeline.name,
                dict(params),
                task.name,
                attempt,
                status,
                started,
                _now(),
                round(time.monotonic() - clock, 3),
                rows_in=metrics.pop("rows_in", None),
                rows_out=metrics.pop("rows_out", None),
                quarantined=metrics.pop("quarantined", None),
                error=error,
                log=log_path,
                extra=metrics,
            )
            append_record(self.lake, record)
            if status == "succeeded" or not retryable or attempt > retries:
                return record
            self.console.print(
                f"  [yellow]↻[/] {task.name} attempt {attempt} failed: {error}; retrying"
            )
            time.sleep(self.retry_backoff_seconds * 2 ** (attempt - 1))

    def _report(self, result: RunResult, pipeline: Pipeline, params: dict[str, str]) -> None:
        label = " ".join(f"--{k} {v}" for k, v in params.items())
        if result.succeeded:
            self.console.print(f"[bold green]✔ {pipeline.name} {label} succeeded[/]")
        else:
            self.console.print(
                f"[bold red]✘ {pipeline.name} {label} failed[/] ({', '.join(result.failed_tasks)}); "
                f"fix the cause, then: analytics run {pipeline.name} {label} --resume"
            )
