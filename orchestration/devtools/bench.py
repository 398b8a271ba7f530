"""`analytics bench`: time the daily ACE pipeline per stage at a given scale, with peak memory,
against a DuckDB measuring stick for the two notification Spark jobs (DESIGN §9): cold (a fresh
process, as a schedule starts it) and warm (in one process, after warm-up runs)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess  # nosec B404: runs this project's own CLI, with a fixed argument list
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb
import psutil
from rich.console import Console
from rich.table import Table

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from orchestration.devtools.class_archive import ensure_archive

if TYPE_CHECKING:
    from orchestration.local.runner import Runner, RunResult
    from orchestration.pipelines import Pipeline

BENCH_START = dt.date(2026, 1, 1)
# The warm-up: WARMUP_RUNS runs (`--warmup-runs`) of one day of at most WARMUP_SCALE attempts
# before anything warm is timed. The JIT goes on warming the Spark jobs up over several runs (at
# 1M/day, Spark-only runs in one process took 34, 18, 18, 16, 15, 14 s), so one run left the
# first timed runs slower.
WARMUP_SCALE = 1_000_000
WARMUP_RUNS = 3


@dataclass
class Stage:
    stage: str
    seconds: float
    rows_in: int | None
    peak_rss_mib: float
    duckdb_seconds: float | None = None

    @property
    def rows_per_s(self) -> float | None:
        return self.rows_in / self.seconds if self.rows_in and self.seconds else None

    @property
    def spark_vs_duckdb(self) -> float | None:
        return self.seconds / self.duckdb_seconds if self.duckdb_seconds else None


class RssSampler:
    """Samples the resident memory of a process and all its children (the Spark JVM): this
    process's, or the one `pid` names (a cold run's own process, without this one's JVM)."""

    def __init__(self, interval: float = 0.1, pid: int | None = None) -> None:
        self.interval = interval
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            me = psutil.Process(self.pid)
        except psutil.Error:  # it ended before the first sample
            return
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.samples.append((time.time(), total))
            self._stop.wait(self.interval)

    def peak_mib(self, start: float, end: float) -> float:
        window = [
            rss for t, rss in self.samples if start - self.interval <= t <= end + self.interval
        ]
        return round(max(window, default=0) / 2**20, 1)


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


# The two notification jobs written directly in DuckDB SQL: read raw lines, validate, dedupe, write
# Parquet. The same checks as spark_jobs.common.validation, for timing only.
DUCKDB_STICK = {
    "notification_attempted_daily": {
        "dataset": "notifications/attempted",
        "fields": [
            "notification_id",
            "client_id",
            "customer_id",
            "experience_id",
            "channel",
            "attempted_at",
        ],
        "enum": ("channel", ["sms", "email", "push", "voice"]),
        "timestamp": "attempted_at",
        "key": ["notification_id"],
        "select": "notification_id, client_id, customer_id, experience_id, channel, "
        "sha256('salt' || (j->>'destination')) as destination_hash, attempted_at",
    },
    "notification_delivered_daily": {
        "dataset": "notifications/delivered",
        "fields": ["notification_id", "status", "reported_at"],
        "enum": ("status", ["delivered", "failed", "undeliverable"]),
        "timestamp": "reported_at",
        "key": ["notification_id", "status", "reported_at"],
        "select": "notification_id, status, reported_at, j->>'provider' as provider",
    },
}


def duckdb_stick(
    lake: Lake, day: dt.date, job: str, scratch: str, max_bytes: int, threads: int
) -> float:
    """Run the DuckDB version of one notification job on a day's raw files; return seconds."""
    spec = DUCKDB_STICK[job]
    raw = os.path.join(lake.raw(spec["dataset"], day), "*")
    checks = [
        f"when strlen(value) > {max_bytes} then 'oversized_record'",
        "when not json_valid(value) then 'malformed_json'",
        "when json_type(j) != 'OBJECT' then 'not_a_json_object'",
    ]
    for name in spec["fields"]:
        checks.append(
            f"when json_type(j, '$.{name}') is null or json_type(j, '$.{name}') = 'NULL' "
            f"then 'missing_field:{name}'"
        )
        checks.append(f"when json_type(j, '$.{name}') != 'VARCHAR' then 'wrong_type:{name}'")
    enum_field, values = spec["enum"]
    checks.append(
        f"when (j->>'{enum_field}') not in ({', '.join(repr(v) for v in values)}) "
        f"then 'unknown_value:{enum_field}'"
    )
    ts = spec["timestamp"]
    checks.append(f"when try_cast(j->>'{ts}' as timestamptz) is null then 'bad_timestamp:{ts}'")
    fields = ", ".join(f"j->>'{f}' as {f}" for f in spec["fields"] if f != ts)
    key = ", ".join(spec["key"])
    out = os.path.join(scratch, job)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    started = time.perf_counter()
    # The measuring stick's SQL is built from the job's contract and the bench's own scratch
    # paths (no outside input): the `nosec B608` below are for that.
    with duckdb.connect(config={"threads": threads}) as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"""
            create temp table checked as
            with lines as (
                select column0 as value from read_csv('{raw}', columns = {{'column0': 'VARCHAR'}},
                    header = false, delim = '\x01', quote = '', escape = '', auto_detect = false,
                    max_line_size = 10000000)
            ),
            guarded as (
                -- json functions raise on malformed text: they only ever see valid JSON here
                select value, case when strlen(value) <= {max_bytes} and json_valid(value)
                    then value::json end as j
                from lines
            ),
            parsed as (
                select value, j, case {" ".join(checks)} else null end as reason from guarded
            ),
            typed as (
                select *, {fields},
                    cast(timezone('UTC', try_cast(j->>'{ts}' as timestamptz)) as timestamp) as {ts}
                from parsed
            )
            select *, case when reason is null and row_number() over (
                partition by reason is null, {key} order by {ts}, value) > 1
                then 'duplicate' else reason end as final_reason
            from typed
        """)  # nosec B608
        con.execute(
            f"copy (select {spec['select']} from checked where final_reason is null) "  # nosec B608
            f"to '{out}/accepted.parquet' (format parquet, compression snappy)"
        )
        con.execute(
            f"copy (select value as raw_line, final_reason as reason from checked "  # nosec B608
            f"where final_reason is not null) to '{out}/rejected.parquet' (format parquet)"
        )
    return time.perf_counter() - started


def _dataset(root: str, scale: int, days: int, seed: int, console: Console) -> str:
    """The generated raw and incoming files of these parameters (generated once, then cached)."""
    from orchestration.devtools.generate import GenerateOptions, generate

    dataset = os.path.abspath(os.path.join(root, f"scale={scale}-days={days}-seed={seed}"))
    marker = os.path.join(dataset, "raw", ".complete")
    if not os.path.exists(marker):
        console.print(f"generating {days} day(s) × {scale:,} attempts into {dataset} …")
        clock = time.perf_counter()
        generate(Lake(dataset), GenerateOptions(BENCH_START, days, scale, seed))
        Path(marker).touch()
        console.print(f"  generated in {time.perf_counter() - clock:.1f}s (cached for later runs)")
    return dataset


def _load_customers(dataset: str, lake: Lake) -> None:
    """Load the dataset's customer file into the lake's warehouse (idempotent)."""
    from ingestion.loader import load
    from ingestion.warehouse import DuckDBWarehouse

    customers = os.path.join(dataset, "incoming", "customers", f"customers_{BENCH_START}.csv")
    load(customers, [DuckDBWarehouse(lake.warehouse_db)])


def _fresh_lake(dataset: str, lake: Lake) -> Lake:
    """`lake` emptied, reading the dataset's raw files, with its customers loaded."""
    _mirror(dataset, lake.root)
    _load_customers(dataset, lake)
    return lake


def _mirror(dataset_root: str, lake_root: str) -> None:
    """A fresh lake that reads the dataset's raw and incoming files (symlinks) and has no history."""
    shutil.rmtree(lake_root, ignore_errors=True)
    os.makedirs(lake_root)
    for zone in ("raw", "incoming"):
        os.symlink(os.path.join(dataset_root, zone), os.path.join(lake_root, zone))


# Parquet written by the Spark jobs is never changed in place (a new version is swapped in by
# renames), so a clone may share these zones' files; everything else (DuckDB files, run logs) is copied.
_SHARED_ZONES = ("lake", "quarantine")


def _clone(history_root: str, lake_root: str) -> None:
    """A copy of the processed history to time the last day on, leaving the history at day D-1."""
    shutil.rmtree(lake_root, ignore_errors=True)
    os.makedirs(lake_root)
    for entry in os.scandir(history_root):
        target = os.path.join(lake_root, entry.name)
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_dir():
            link = entry.name in _SHARED_ZONES
            shutil.copytree(entry.path, target, copy_function=os.link if link else shutil.copy2)
        else:
            shutil.copy2(entry.path, target)
    # The copied database (GBs at scale) is flushed now, not written back during the timed run.
    os.sync()


def _parse_state(settings: Settings, history_root: str, lake: Lake, day: dt.date) -> bytes:
    """dbt's partial-parse state at `lake`'s path as the scheduled run of landing day `day`
    leaves it for the next day's run (at the same path; on S3 it is kept in the lake). The
    clones live at another path than the history, which alone would make dbt parse the whole
    project: a cold run would pay a parse no scheduled run pays."""
    from orchestration.local.dbt import PARSE_STATE, dbt_env, run_dbt

    _clone(history_root, lake.root)
    log = os.path.join(lake.runs, "parse-state.log")
    os.makedirs(lake.runs, exist_ok=True)
    lake_settings = settings.model_copy(update={"lake_root": lake.root})
    run_dbt(lake_settings, lake, ["parse"], {"ACE_LANDING_DATE": day.isoformat()}, log)
    target = dbt_env(lake_settings, lake, work_dir="")["DBT_TARGET_PATH"]
    return Path(target, PARSE_STATE).read_bytes()


def _clone_with_state(history_root: str, lake: Lake, settings: Settings, state: bytes) -> None:
    """A clone of the history at `lake`, holding the parse state a run at its path would find."""
    from orchestration.local.dbt import PARSE_STATE, dbt_env

    _clone(history_root, lake.root)
    target = dbt_env(settings.model_copy(update={"lake_root": lake.root}), lake, "")
    Path(target["DBT_TARGET_PATH"], PARSE_STATE).write_bytes(state)


@dataclass
class TimedRun:
    result: RunResult
    seconds: float
    peak_rss_mib: float


def _timed_run(runner: Runner, pipeline: Pipeline, params: dict, sampler: RssSampler) -> TimedRun:
    """One run of `pipeline`, with its wall time and the peak memory of the process tree."""
    start, clock = time.time(), time.perf_counter()
    result = runner.run(pipeline, params)
    seconds = time.perf_counter() - clock
    if not result.succeeded:
        raise RuntimeError("a benchmarked run failed; see `analytics history` under the bench lake")
    return TimedRun(result, seconds, sampler.peak_mib(start, start + seconds))


@dataclass
class ColdRun:
    seconds: float
    peak_rss_mib: float
    tasks: dict[str, float]


def _cold_run(lake: Lake, pipeline: str, day: dt.date) -> ColdRun:
    """`analytics run <pipeline> --date <day>` in a fresh process, as a schedule starts it: the
    interpreter, the imports, the Spark JVM and the JIT all start cold. Timed whole; its peak
    memory is its own process tree's (not this process's JVM, which the history may have started)."""
    command = [
        sys.executable,
        "-m",
        "orchestration.cli",
        "run",
        pipeline,
        "--date",
        day.isoformat(),
    ]
    env = {**os.environ, "LAKE_ROOT": lake.root, "TASK_RETRIES": "0"}
    start, clock = time.time(), time.perf_counter()
    pipe = subprocess.PIPE
    with (
        subprocess.Popen(command, env=env, stdout=pipe, stderr=pipe, text=True) as process,  # nosec B603
        RssSampler(pid=process.pid) as sampler,
    ):
        _, stderr = process.communicate()
    seconds = time.perf_counter() - clock
    if process.returncode != 0:
        raise RuntimeError(f"a cold benchmarked run failed:\n{stderr[-2000:]}")
    from orchestration.local.history import read_history

    tasks = {
        r["task"]: round(r["seconds"], 2)
        for r in read_history(lake)
        if r["pipeline"] == pipeline
        and r["params"].get("date") == day.isoformat()
        and r["status"] == "succeeded"
    }
    return ColdRun(seconds, sampler.peak_mib(start, start + seconds), {**tasks, "total": seconds})


Run = TypeVar("Run", TimedRun, ColdRun)


def _task_seconds(run: TimedRun) -> dict[str, float]:
    """Seconds per task of one run, and the whole run's (`total`)."""
    return {
        **{r.task: round(r.seconds, 2) for r in run.result.records.values()},
        "total": round(run.seconds, 2),
    }


def median_run(runs: list[Run]) -> Run:
    """The run of median wall time (of an even number, the faster of the middle two)."""
    middle = statistics.median_low(run.seconds for run in runs)
    return next(run for run in runs if run.seconds == middle)


def run_bench(
    settings: Settings,
    scale: int,
    days: int,
    seed: int,
    root: str,
    console: Console,
    repeat: int = 1,
    cold_repeat: int | None = None,
    warmup_runs: int = WARMUP_RUNS,
) -> dict:
    """Generate or reuse the dataset, process the history, then time the last day: cold, in a
    fresh process (`cold_repeat` times, default `repeat`), then warm, stage by stage (`repeat`
    times, alternating with day 1 alone); the median runs count."""
    from orchestration.local.history import load_state
    from orchestration.local.runner import Runner
    from orchestration.pipelines import ACE_DAILY, ACE_MONTHLY
    from spark_jobs.common.session import get_spark

    dataset = _dataset(root, scale, days, seed, console)
    last_day = BENCH_START + dt.timedelta(days=days - 1)

    history_lake = Lake(os.path.join(dataset, "history"))
    done_marker = os.path.join(history_lake.root, ".processed")
    if not os.path.exists(done_marker):
        _mirror(dataset, history_lake.root)
    _load_customers(dataset, history_lake)
    solo_lake = Lake(os.path.join(dataset, "solo"))

    clock = time.perf_counter()
    get_spark(settings)
    spark_startup = time.perf_counter() - clock
    quiet = Console(quiet=True)

    def runner(lake: Lake) -> Runner:
        return Runner(
            settings.model_copy(update={"lake_root": lake.root, "task_retries": 0}), console=quiet
        )

    processed = Path(done_marker).read_text().split() if os.path.exists(done_marker) else []
    if load_state(history_lake, ACE_DAILY.name, {"date": last_day.isoformat()}):
        # A cache from an older bench that timed the last day in place: it is a rerun now.
        console.print("history holds the last day already: rebuilding it …")
        _fresh_lake(dataset, history_lake)
        processed = []
    for index in range(days - 1):
        day = (BENCH_START + dt.timedelta(days=index)).isoformat()
        if day in processed:
            continue
        console.print(f"history: processing {day} …")
        if not runner(history_lake).run(ACE_DAILY, {"date": day}).succeeded:
            raise RuntimeError(f"history day {day} failed; see {history_lake.runs}")
        processed.append(day)
        with open(done_marker, "w") as handle:
            handle.write("\n".join(processed))

    # Cold first: each run a fresh process of its own, before any warm-up. This process's JVM
    # (started above) stays idle meanwhile: 0.03-0.08 CPU-s per 10 s, and its memory is not
    # counted (the cold run's peak is its own process tree's).
    timed_lake = Lake(os.path.join(dataset, "timed"))
    # The class-data archive the cold runs' JVMs start from, as `make setup` leaves it on a
    # machine (made here if missing; not timed).
    archive = ensure_archive(settings)
    if archive and archive.built:
        console.print(f"class-data archive made in {archive.seconds:.0f}s: {archive.path}")
    cold_runs: list[ColdRun] = []
    state = _parse_state(settings, history_lake.root, timed_lake, last_day - dt.timedelta(days=1))
    count = repeat if cold_repeat is None else cold_repeat
    for rep in range(1, count + 1):
        _clone_with_state(history_lake.root, timed_lake, settings, state)
        of = f"[{rep}/{count}] " if count > 1 else ""
        console.print(f"{of}cold: day {days} ({last_day}) in a fresh process …")
        cold_runs.append(_cold_run(timed_lake, ACE_DAILY.name, last_day))

    warm_scale = min(scale, WARMUP_SCALE)
    warm_dataset = _dataset(root, warm_scale, 1, seed, console)
    for run in range(1, warmup_runs + 1):
        console.print(f"warm-up {run}/{warmup_runs} on {warm_scale:,} attempts …")
        warm_lake = _fresh_lake(warm_dataset, Lake(os.path.join(warm_dataset, "warmup")))
        if not runner(warm_lake).run(ACE_DAILY, {"date": BENCH_START.isoformat()}).succeeded:
            raise RuntimeError(f"the warm-up run failed; see {warm_lake.runs}")
    # Day D runs on a clone, so the cached history stays at day D-1 and every bench times a
    # first run of day D, as production runs it (not a rerun). Day D and day 1 alone alternate
    # `repeat` times, each going first every other time (whatever warmth is left to gain
    # favours neither), and the median run of each counts: a single run varies by seconds.
    timed_runs: list[TimedRun] = []
    solo_runs: list[TimedRun] = []
    monthly = None
    with RssSampler() as sampler:

        def day_d(of: str) -> None:
            _clone_with_state(history_lake.root, timed_lake, settings, state)
            console.print(f"{of}day {days} ({last_day}) with {days - 1} day(s) of history …")
            timed_runs.append(
                _timed_run(runner(timed_lake), ACE_DAILY, {"date": last_day.isoformat()}, sampler)
            )

        def day_1(of: str) -> None:
            console.print(f"{of}day 1 alone ({BENCH_START}), a lake holding only that day …")
            _fresh_lake(dataset, solo_lake)
            solo_runs.append(
                _timed_run(runner(solo_lake), ACE_DAILY, {"date": BENCH_START.isoformat()}, sampler)
            )

        for rep in range(1, repeat + 1):
            of = f"[{rep}/{repeat}] " if repeat > 1 else ""
            for measure in (day_d, day_1) if rep % 2 else (day_1, day_d):
                measure(of)
            if monthly is None:
                console.print(f"monthly export of {last_day:%Y-%m} …")
                monthly = _timed_run(
                    runner(timed_lake), ACE_MONTHLY, {"month": f"{last_day:%Y-%m}"}, sampler
                )
    assert monthly is not None  # repeat >= 1
    target, solo = median_run(timed_runs), median_run(solo_runs)
    cold = median_run(cold_runs)

    stages = [
        Stage(
            r.task, r.seconds, r.rows_in, sampler.peak_mib(_epoch(r.started_at), _epoch(r.ended_at))
        )
        for r in list(target.result.records.values()) + list(monthly.result.records.values())
    ]
    # The pipeline runs both notification jobs at once, sharing the cores; so does the stick.
    scratch = os.path.join(dataset, "duckdb_stick")
    sticks = [stage for stage in stages if stage.stage in DUCKDB_STICK]
    threads = max(1, (os.cpu_count() or 1) // max(1, len(sticks)))
    # Timed as often as the Spark jobs, the median counting.
    samples: list[list[float]] = [[] for _ in sticks]
    for _ in range(repeat):
        with ThreadPoolExecutor(max_workers=max(1, len(sticks))) as pool:
            timings = pool.map(
                lambda stage: duckdb_stick(
                    history_lake, last_day, stage.stage, scratch, settings.max_record_bytes, threads
                ),
                sticks,
            )
            for times, seconds in zip(samples, timings, strict=True):
                times.append(seconds)
    for stage, times in zip(sticks, samples, strict=True):
        stage.duckdb_seconds = statistics.median_low(times)

    report = {
        "scale": scale,
        "days": days,
        "seed": seed,
        "dataset": dataset,
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "cold_pipeline_seconds": round(cold.seconds, 2),
        "cold_pipeline_tasks_seconds": {k: round(v, 2) for k, v in cold.tasks.items()},
        "cold_pipeline_runs_seconds": [round(r.seconds, 2) for r in cold_runs],
        "cold_pipeline_peak_rss_mib": max(r.peak_rss_mib for r in cold_runs),
        "cold_class_archive": str(archive.path) if archive else None,
        "spark_startup_seconds": round(spark_startup, 2),
        "repeat": repeat,
        "warmup_runs": warmup_runs,
        "daily_pipeline_seconds": round(target.seconds, 2),
        "daily_pipeline_runs_seconds": [round(r.seconds, 2) for r in timed_runs],
        "daily_pipeline_peak_rss_mib": max(r.peak_rss_mib for r in timed_runs),
        "day1_alone_seconds": round(solo.seconds, 2),
        "day1_alone_runs_seconds": [round(r.seconds, 2) for r in solo_runs],
        "runs": {
            "day_d": [_task_seconds(r) for r in timed_runs],
            "day_1": [_task_seconds(r) for r in solo_runs],
            "cold_day_d": [{k: round(v, 2) for k, v in r.tasks.items()} for r in cold_runs],
        },
        "incremental_ratio": round(target.seconds / solo.seconds, 3),
        "monthly_seconds": round(monthly.seconds, 2),
        "stages": [
            {
                **asdict(s),
                "rows_per_s": s.rows_per_s and round(s.rows_per_s),
                "spark_vs_duckdb": s.spark_vs_duckdb and round(s.spark_vs_duckdb, 2),
            }
            for s in stages
        ],
    }
    return report


def _runs_of(report: dict, key: str) -> str:
    """` (median of 3: 35.2 / 33.1 / 36.0)` for a repeated measure, nothing for a single run."""
    runs = report.get(key, [])
    if len(runs) < 2:
        return ""
    return f" (median of {len(runs)}: " + " / ".join(f"{s:.1f}" for s in runs) + ")"


def print_report(report: dict, console: Console) -> None:
    table = Table(
        title=f"Daily ACE pipeline (warm), {report['scale']:,} attempts/day, day {report['days']} "
        f"with {report['days'] - 1} day(s) of history"
    )
    for column in (
        "stage",
        "wall s",
        "rows in",
        "rows/s",
        "peak RSS MiB",
        "DuckDB s",
        "Spark/DuckDB",
    ):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for s in report["stages"]:
        table.add_row(
            s["stage"],
            f"{s['seconds']:.1f}",
            "" if s["rows_in"] is None else f"{s['rows_in']:,}",
            "" if s["rows_per_s"] is None else f"{s['rows_per_s']:,}",
            f"{s['peak_rss_mib']:,.0f}",
            "" if s["duckdb_seconds"] is None else f"{s['duckdb_seconds']:.1f}",
            "" if s["spark_vs_duckdb"] is None else f"{s['spark_vs_duckdb']:.2f}x",
        )
    tasks = report["cold_pipeline_tasks_seconds"]
    console.print(
        f"cold (a fresh process, as a schedule starts it): whole daily pipeline "
        f"{report['cold_pipeline_seconds']:.1f}s{_runs_of(report, 'cold_pipeline_runs_seconds')},"
        f" peak RSS {report['cold_pipeline_peak_rss_mib']:,.0f} MiB · tasks: "
        + ", ".join(f"{task} {s:.1f}s" for task, s in tasks.items() if task != "total")
    )
    console.print(table)
    console.print(
        f"warm (in one process after {report['warmup_runs']} warm-up runs): "
        f"whole daily pipeline: {report['daily_pipeline_seconds']:.1f}s"
        f"{_runs_of(report, 'daily_pipeline_runs_seconds')}, peak RSS "
        f"{report['daily_pipeline_peak_rss_mib']:,.0f} MiB (process tree) · day 1 alone: "
        f"{report['day1_alone_seconds']:.1f}s{_runs_of(report, 'day1_alone_runs_seconds')} · "
        f"incremental ratio: {report['incremental_ratio']:.2f} · "
        f"monthly rebuild + export: {report['monthly_seconds']:.1f}s · Spark start-up (not counted): "
        f"{report['spark_startup_seconds']:.1f}s"
    )


def write_report(report: dict, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
