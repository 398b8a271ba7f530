"""The local runner: dependency order, parallelism, retries, resume, history and the run lock."""

from __future__ import annotations

import os
import threading
import time

import pytest
from rich.console import Console

from orchestration.local.history import read_history
from orchestration.local.runner import RunError, Runner, parse_params, run_lock
from orchestration.pipelines import Pipeline, Task

PARAMS = {"date": "2026-01-10"}


def diamond(recorder: Recorder) -> Pipeline:
    fns = recorder.tasks()
    return Pipeline(
        name="diamond",
        description="a → (b, c) → d",
        param="date",
        tasks=(
            Task("a", "python", fns["a"]),
            Task("b", "python", fns["b"], depends_on=("a",)),
            Task("c", "python", fns["c"], depends_on=("a",)),
            Task("d", "python", fns["d"], depends_on=("b", "c")),
        ),
    )


class Recorder:
    """Task functions that log start/end times; `fail` maps a task to how many times it fails."""

    def __init__(self, fail: dict[str, int] | None = None, pause: float = 0.0):
        self.fail = dict(fail or {})
        self.pause = pause
        self.events: list[tuple[str, str, float]] = []
        self.lock = threading.Lock()

    def make(self, name: str):
        def run(ctx):
            with self.lock:
                self.events.append((name, "start", time.monotonic()))
            time.sleep(self.pause)
            with self.lock:
                self.events.append((name, "end", time.monotonic()))
                if self.fail.get(name, 0) > 0:
                    self.fail[name] -= 1
                    raise RuntimeError(f"{name} broke")
            return {"rows_in": 10, "rows_out": 9, "quarantined": 1}

        return run

    def tasks(self):
        return {n: self.make(n) for n in "abcd"}

    def started(self) -> list[str]:
        return [n for n, kind, _ in self.events if kind == "start"]

    def time_of(self, name: str, kind: str) -> float:
        return next(t for n, k, t in self.events if n == name and k == kind)


def runner(settings, retries=0) -> Runner:
    settings = settings.model_copy(update={"task_retries": retries, "parallelism": 2})
    return Runner(settings, console=Console(quiet=True), retry_backoff_seconds=0.01)


def test_tasks_run_in_dependency_order_with_independent_ones_in_parallel(settings):
    rec = Recorder(pause=0.3)
    result = runner(settings).run(diamond(rec), PARAMS)
    assert result.succeeded
    assert rec.time_of("a", "end") <= min(rec.time_of("b", "start"), rec.time_of("c", "start"))
    assert max(rec.time_of("b", "end"), rec.time_of("c", "end")) <= rec.time_of("d", "start")
    # b and c overlapped: each started before the other ended.
    assert rec.time_of("b", "start") < rec.time_of("c", "end")
    assert rec.time_of("c", "start") < rec.time_of("b", "end")


def test_a_failing_task_is_retried_then_succeeds(settings, lake):
    rec = Recorder(fail={"b": 1})
    result = runner(settings, retries=1).run(diamond(rec), PARAMS)
    assert result.succeeded
    assert rec.started().count("b") == 2
    b_records = [r for r in read_history(lake) if r["task"] == "b"]
    assert [(r["attempt"], r["status"]) for r in b_records] == [(1, "failed"), (2, "succeeded")]
    assert b_records[0]["error"] == "RuntimeError: b broke"


def test_failure_blocks_downstream_and_resume_runs_only_what_is_left(settings, lake):
    rec = Recorder(fail={"c": 1})
    first = runner(settings).run(diamond(rec), PARAMS)
    assert not first.succeeded
    assert {n: r.status for n, r in first.records.items()} == {
        "a": "succeeded",
        "b": "succeeded",
        "c": "failed",
        "d": "blocked",
    }
    with open(first.records["c"].log, encoding="utf-8") as log:
        assert "RuntimeError: c broke" in log.read()

    rec2 = Recorder()
    second = runner(settings).run(diamond(rec2), PARAMS, resume=True)
    assert second.succeeded
    assert sorted(rec2.started()) == ["c", "d"]
    assert {n: r.status for n, r in second.records.items()} == {
        "a": "skipped",
        "b": "skipped",
        "c": "succeeded",
        "d": "succeeded",
    }


def test_input_errors_are_not_retried(settings):
    from orchestration.core.errors import InputError

    calls = []

    def missing(ctx):
        calls.append(1)
        raise InputError("no raw data at /x")

    pipeline = Pipeline("p", "", "date", (Task("a", "python", missing),))
    settings = settings.model_copy(update={"task_retries": 3})
    result = Runner(settings, console=Console(quiet=True)).run(pipeline, PARAMS)
    assert (result.records["a"].status, result.records["a"].error, len(calls)) == (
        "failed",
        "InputError: no raw data at /x",
        1,
    )


def test_history_records_rows_and_times(settings, lake):
    runner(settings).run(diamond(Recorder()), PARAMS)
    records = read_history(lake)
    assert sorted(r["task"] for r in records) == ["a", "b", "c", "d"]
    for r in records:
        assert (r["rows_in"], r["rows_out"], r["quarantined"], r["status"]) == (
            10,
            9,
            1,
            "succeeded",
        )
        assert r["started_at"] <= r["ended_at"]
        assert r["params"] == PARAMS


def test_second_concurrent_run_of_same_params_is_refused(lake):
    with run_lock(lake, "diamond", PARAMS):
        with pytest.raises(RunError, match="already running"), run_lock(lake, "diamond", PARAMS):
            pass
        with run_lock(lake, "diamond", {"date": "2026-01-11"}):
            pass  # other parameters are independent


def test_stale_lock_of_a_dead_process_is_reclaimed(lake):
    path = os.path.join(lake.runs, "locks", "diamond_date=2026-01-10.lock")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("999999999")
    with run_lock(lake, "diamond", PARAMS):
        pass
    assert not os.path.exists(path)


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("date", "2026-02-30", "not a valid date"),
        ("month", "2026-13", "not a valid month"),
        ("month", "2026-1-01", "not a valid month"),
    ],
)
def test_bad_parameters_are_clear_errors(param, value, message):
    pipeline = Pipeline("p", "", param, (Task("a", "python", lambda ctx: {}),))
    with pytest.raises(RunError, match=message):
        parse_params(pipeline, value)


def test_an_unreachable_warehouse_is_a_one_line_error_that_is_retried(settings):
    from ingestion.warehouse import WarehouseUnavailable

    calls = []

    def down_then_up(ctx):
        calls.append(1)
        if len(calls) == 1:
            raise WarehouseUnavailable("postgres:u@db:5432/x: cannot connect: refused")
        return {}

    pipeline = Pipeline("p", "", "date", (Task("a", "python", down_then_up),))
    settings = settings.model_copy(update={"task_retries": 1})
    runner = Runner(settings, console=Console(quiet=True), retry_backoff_seconds=0.01)
    result = runner.run(pipeline, PARAMS)
    assert (result.records["a"].status, result.records["a"].attempt, len(calls)) == (
        "succeeded",
        2,
        2,
    )


def test_one_shard_of_a_day_does_not_lock_out_the_other_shards(tmp_path):
    """Each shard is a run of its own (on AWS one job run each, side by side); the same shard
    twice is refused."""
    from orchestration.core.settings import Settings

    ran: list[str] = []
    pipeline = Pipeline(
        "sharded",
        "d",
        "date",
        (Task("s", "python", lambda ctx: ran.append(ctx.shard.label) or {}, shards=2),),
    )
    lake_root = str(tmp_path / "lake")
    first = Settings(LAKE_ROOT=lake_root, NUM_SHARDS=2, CURRENT_SHARD=1)
    second = Settings(LAKE_ROOT=lake_root, NUM_SHARDS=2, CURRENT_SHARD=2)
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    lake = Runner(first, quiet).lake
    with run_lock(lake, "sharded@1-of-2", PARAMS):
        assert Runner(second, quiet).run(pipeline, PARAMS).succeeded
        with pytest.raises(RunError, match="already running"):
            Runner(first, quiet).run(pipeline, PARAMS)
    assert ran == ["2-of-2"]


def spark_then_dbt(recorder: Recorder) -> Pipeline:
    """Two "spark" tasks at once, then a "python" one, then the "dbt" one (like ace_daily)."""
    fns = recorder.tasks()
    return Pipeline(
        name="mixed",
        description="(a, b) → c → d",
        param="date",
        tasks=(
            Task("a", "spark", fns["a"]),
            Task("b", "spark", fns["b"]),
            Task("c", "python", fns["c"], depends_on=("a", "b")),
            Task("d", "dbt", fns["d"], depends_on=("c",)),
        ),
    )


def releasing_runner(settings, rec: Recorder, **release_pause) -> Runner:
    """A runner that records, as events of `rec`, when each kind's release starts and ends."""

    def release(kind: str):
        def run():
            rec.make(f"release:{kind}")(None)
            time.sleep(release_pause.get(kind, 0.0))

        return run

    settings = settings.model_copy(update={"task_retries": 0, "parallelism": 2})
    kinds = {"spark": release("spark"), "warehouse": release("warehouse")}
    return Runner(settings, console=Console(quiet=True), release=kinds)


def test_a_kind_is_released_once_its_last_task_is_done_while_the_run_goes_on(settings):
    rec = Recorder(pause=0.2)
    result = releasing_runner(settings, rec, spark=0.8).run(spark_then_dbt(rec), PARAMS)
    returned = time.monotonic()
    assert result.succeeded
    released = rec.started().count("release:spark")
    assert released == 1  # once, not after each of the two spark tasks
    last_spark_end = max(rec.time_of("a", "end"), rec.time_of("b", "end"))
    assert rec.time_of("release:spark", "start") >= last_spark_end
    # In the background: the next task did not wait for it, and the run ended after it.
    assert rec.time_of("c", "start") < rec.time_of("release:spark", "start") + 0.3
    assert returned >= rec.time_of("release:spark", "start") + 0.8  # c and d took 0.4 s
    assert "release:warehouse" not in rec.started()  # no task of that kind ran


def test_a_kind_is_released_after_a_failure_too_and_a_failing_release_fails_nothing(settings):
    rec = Recorder(fail={"a": 1})
    console = Console(record=True, width=200)

    def broken():
        raise RuntimeError("the JVM would not stop")

    settings = settings.model_copy(update={"task_retries": 0, "parallelism": 2})
    run = Runner(settings, console=console, release={"spark": broken}).run(
        spark_then_dbt(rec), PARAMS
    )
    assert run.failed_tasks == ["a"]
    assert [run.records[n].status for n in "cd"] == ["blocked", "blocked"]
    assert "could not release the spark tasks' resources: the JVM would not stop" in (
        console.export_text()
    )
