"""The `analytics` command."""

from __future__ import annotations

import datetime as dt
import gc
import glob
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from orchestration.core.errors import InputError
from orchestration.core.lake import Lake
from orchestration.core.settings import Settings, get_settings
from orchestration.pipelines import PIPELINES

# Piped output (logs, CI) gets wide lines rather than tables folded at 80 columns.
_width = None if sys.stdout.isatty() else 160
console = Console(stderr=True, width=_width)
out = Console(width=_width)


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise click.ClickException(f"invalid setting {where}: {first['msg']}") from None


def _date(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a valid date (YYYY-MM-DD)") from None


@click.group()
def cli() -> None:
    """Analytics platform: generate data, load the warehouse, run pipelines, read results."""


@cli.command()
@click.option("--start", required=True, callback=_date, help="first landing date, YYYY-MM-DD")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 3660))
@click.option(
    "--scale",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="notification attempts per day",
)
@click.option("--seed", default=42, show_default=True, type=int)
@click.option(
    "--anomaly-rate",
    default=0.02,
    show_default=True,
    type=click.FloatRange(0, 0.5),
    help="share of records with the anomalies of DESIGN §4",
)
def generate(start: dt.date, days: int, scale: int, seed: int, anomaly_rate: float) -> None:
    """Write realistic raw data (DESIGN §4) under LAKE_ROOT."""
    from orchestration.devtools.generate import GenerateOptions
    from orchestration.devtools.generate import generate as write

    lake = Lake.from_settings(settings_or_exit())
    summary = write(lake, GenerateOptions(start, days, scale, seed, anomaly_rate))
    counts = ", ".join(f"{k}={v:,}" for k, v in sorted(summary.counts.items()))
    console.print(f"generated {len(summary.files)} files under {lake.root}: {counts}")


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH_OR_S3_URI...")
def load(paths: tuple[str, ...]) -> None:
    """Load incoming/<table>/ files (local paths, globs or s3:// URIs) into every configured
    warehouse: validated whole, then upserted on the table's key in one transaction each."""
    from ingestion.loader import load as load_one
    from ingestion.warehouse import configured_warehouses

    settings = settings_or_exit()
    warehouses = configured_warehouses(settings, Lake.from_settings(settings))
    files = [
        f for p in paths for f in ([p] if p.startswith("s3://") else sorted(glob.glob(p)) or [p])
    ]
    for path in files:
        for result in load_one(path, warehouses):
            verb = "already loaded, skipped" if result.skipped else f"loaded {result.rows:,} rows"
            console.print(f"{path}: {verb} into {result.table} ({result.warehouse})")


@cli.command("copy-lake")
@click.option("--from", "start", required=True, callback=_date, help="first landing date")
@click.option("--to", "end", callback=_date, help="last landing date (default: --from)")
@click.option("--schema", default="lake", show_default=True, help="PostgreSQL schema to fill")
def copy_lake(start: dt.date, end: dt.date | None, schema: str) -> None:
    """Copy the lake's partitions of these landing days into PostgreSQL (WAREHOUSE_URL): the
    sources of the dbt `postgres` target (LAKE_SCHEMA)."""
    from ingestion.lake_tables import copy_day
    from ingestion.warehouse import PostgresWarehouse

    settings = settings_or_exit()
    if not settings.warehouse_url:
        raise click.UsageError("copy-lake needs WAREHOUSE_URL (a postgresql:// URL)")
    warehouse = PostgresWarehouse(settings.warehouse_url)
    lake = Lake.from_settings(settings)
    day, last = start, end or start
    while day <= last:
        counts = copy_day(warehouse, lake, day, schema)
        console.print(f"{day}: " + ", ".join(f"{t}={n:,}" for t, n in counts.items()))
        day += dt.timedelta(days=1)


def _pipeline(name: str):
    if name not in PIPELINES:
        raise click.BadParameter(
            f"unknown pipeline {name!r}; known: {', '.join(sorted(PIPELINES))}"
        )
    return PIPELINES[name]


@cli.command()
@click.argument("pipeline_name", metavar="PIPELINE")
@click.option("--date", "date_", help="landing date YYYY-MM-DD (daily pipelines)")
@click.option("--month", help="month YYYY-MM (monthly pipelines)")
@click.option("--uri", help="file to process (pipelines triggered by an S3 object)")
@click.option("--task", "task_name", help="run only this task, not its dependencies (AWS Batch)")
@click.option("--resume", is_flag=True, help="skip the tasks that succeeded in the last run")
def run(
    pipeline_name: str,
    date_: str | None,
    month: str | None,
    uri: str | None,
    task_name: str | None,
    resume: bool,
) -> None:
    """Run a pipeline for one date, month or file."""
    from orchestration.local.runner import Runner, parse_params
    from orchestration.tasks import RELEASE_WHEN_DONE

    pipeline = _pipeline(pipeline_name)
    value = {"date": date_, "month": month, "uri": uri}[pipeline.param]
    if value is None:
        raise click.UsageError(f"{pipeline.name} needs --{pipeline.param}")
    pipeline = _only_task(pipeline, task_name)
    # A process that ends with the run (the `analytics` program, not a call from Python, whose
    # caller may go on using its Spark session) lets its Spark JVM go once the Spark tasks are
    # done: dbt gets its memory, and its shutdown is not waited for at the end.
    release = RELEASE_WHEN_DONE if _process_ends_with_command() else None
    runner = Runner(settings_or_exit(), console=console, release=release)
    result = runner.run(pipeline, parse_params(pipeline, value), resume=resume)
    if not result.succeeded:
        sys.exit(1)


def _only_task(pipeline, task_name: str | None):
    """The pipeline, or only its task `task_name` (a usage error naming the known tasks)."""
    if task_name is None:
        return pipeline
    if task_name not in {t.name for t in pipeline.tasks}:
        known = ", ".join(t.name for t in pipeline.tasks)
        raise click.UsageError(f"{pipeline.name} has no task {task_name!r}; known: {known}")
    return pipeline.only(task_name)


@cli.command()
@click.argument("pipeline_name", metavar="PIPELINE")
@click.option("--from", "start", required=True, callback=_date, help="first date YYYY-MM-DD")
@click.option("--to", "end", required=True, callback=_date, help="last date YYYY-MM-DD")
@click.option("--task", "task_name", help="run only this task of each date")
def backfill(pipeline_name: str, start: dt.date, end: dt.date, task_name: str | None) -> None:
    """Run a daily pipeline for every date from --from to --to, in order."""
    from orchestration.local.runner import Runner

    pipeline = _only_task(_pipeline(pipeline_name), task_name)
    if pipeline.param != "date":
        raise click.UsageError(f"{pipeline.name} is not a daily pipeline")
    if end < start:
        raise click.BadParameter("--to is before --from")
    runner = Runner(settings_or_exit(), console=console)
    day = start
    while day <= end:
        result = runner.run(pipeline, {"date": day.isoformat()})
        if not result.succeeded:
            console.print(f"[red]backfill stopped at {day}; later dates were not run")
            sys.exit(1)
        day += dt.timedelta(days=1)


def _workflow_payload(payload: str | None, month: str | None) -> object:
    """The payload from --payload (JSON text, or @file) or --month (its first and last day)."""
    from orchestration.workflows import DateRange

    if (payload is None) == (month is None):
        raise click.UsageError("give either --payload or --month")
    if month is not None:
        try:
            return DateRange.month(month).payload()
        except ValueError:
            raise click.BadParameter(f"--month {month!r} is not a valid month (YYYY-MM)") from None
    text = payload or ""
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as err:
            raise click.BadParameter(f"--payload {text}: {err.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise click.BadParameter(f"--payload is not JSON: {err}") from None


@cli.command()
@click.argument("workflow_name", metavar="WORKFLOW")
@click.option(
    "--payload",
    help='the input, as in AWS: \'{"startDate": "2026-10-01", "endDate": "2026-10-31"}\' or @file',
)
@click.option("--month", help="shortcut for the payload of a calendar month, YYYY-MM")
def workflow(workflow_name: str, payload: str | None, month: str | None) -> None:
    """Run a query-and-report workflow locally (query, poll with back-off, report, notify)."""
    from orchestration.local.notify import notifier_for
    from orchestration.local.workflow_runner import WorkflowFailed, run_workflow
    from orchestration.workflows import WORKFLOWS

    if workflow_name not in WORKFLOWS:
        raise click.BadParameter(
            f"unknown workflow {workflow_name!r}; known: {', '.join(sorted(WORKFLOWS))}"
        )
    settings = settings_or_exit()
    lake = Lake.from_settings(settings)
    try:
        result = run_workflow(
            WORKFLOWS[workflow_name],
            _workflow_payload(payload, month),
            lake,
            notifier_for(settings, lake),
            console=console,
        )
    except WorkflowFailed as failed:
        console.print(f"[bold red]✘ {workflow_name} failed:[/] {failed}")
        sys.exit(1)
    out.print(os.path.join(result.report, "report.html"))


@cli.command()
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1))
def history(limit: int) -> None:
    """Show the latest task runs."""
    from orchestration.local.history import read_history

    table = Table(title="Run history")
    for column in (
        "run",
        "pipeline",
        "params",
        "task",
        "try",
        "status",
        "start",
        "s",
        "in",
        "out",
        "quar.",
    ):
        # A long parameter (a file's URI) folds onto more lines rather than squeeze the names.
        fold = {"overflow": "fold", "max_width": 40} if column == "params" else {}
        table.add_column(column, no_wrap=column != "params", **fold)
    for r in read_history(Lake.from_settings(settings_or_exit()))[-limit:]:
        table.add_row(
            r["run_id"],
            r["pipeline"],
            " ".join(r["params"].values()),
            r["task"],
            str(r["attempt"]),
            r["status"],
            r["started_at"][:19],
            f"{r['seconds']:.1f}",
            *[
                ("" if r[k] is None else f"{r[k]:,}")
                for k in ("rows_in", "rows_out", "quarantined")
            ],
        )
    out.print(table)


@cli.command()
@click.option(
    "--scale",
    default=1_000_000,
    show_default=True,
    type=click.IntRange(1),
    help="notification attempts per day",
)
@click.option(
    "--days",
    default=2,
    show_default=True,
    type=click.IntRange(1, 400),
    help="the last day is timed, with the days before it as processed history",
)
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--root", default=".bench", show_default=True, help="where datasets are cached")
@click.option(
    "--repeat",
    default=3,
    show_default=True,
    type=click.IntRange(1, 20),
    help="times day D and day 1 alone are each run (alternately); the medians are reported",
)
@click.option(
    "--cold-repeat",
    default=None,
    type=click.IntRange(1, 20),
    help="times day D is run cold, in a fresh process [default: --repeat]",
)
@click.option(
    "--warmup-runs",
    default=3,
    show_default=True,
    type=click.IntRange(1, 20),
    help="runs of one day that warm the JVM up before the warm figures are timed",
)
@click.option(
    "--out",
    "out_path",
    default=None,
    help="JSON report path [default: <root>/bench-<scale>-<days>.json]",
)
def bench(
    scale: int,
    days: int,
    seed: int,
    root: str,
    repeat: int,
    cold_repeat: int | None,
    warmup_runs: int,
    out_path: str | None,
) -> None:
    """Benchmark the daily ACE pipeline, cold (a fresh process, as scheduled) and warm (per
    stage: seconds, rows/s, peak memory, DuckDB ratio)."""
    from orchestration.devtools.bench import print_report, run_bench, write_report

    report = run_bench(
        settings_or_exit(), scale, days, seed, root, console, repeat, cold_repeat, warmup_runs
    )
    print_report(report, out)
    path = out_path or os.path.join(root, f"bench-{scale}-{days}.json")
    write_report(report, path)
    console.print(f"report written to {path}")


@cli.command("spark-archive")
@click.option("--force", is_flag=True, help="make it again even if it is there")
def spark_archive(force: bool) -> None:
    """Make the class-data archive local Spark sessions start from (once per machine, JVM and
    Spark version; `make setup` runs it): a training run of one small day."""
    from orchestration.devtools.class_archive import ArchiveError, ensure_archive

    try:
        result = ensure_archive(settings_or_exit(), force=force)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from None
    if result is None:
        console.print("no java found: no class-data archive (Spark needs Java 17)")
    elif result.built:
        console.print(f"class-data archive made in {result.seconds:.0f} s: {result.path}")
    else:
        console.print(f"class-data archive: {result.path}")


@cli.command()
def summary() -> None:
    """Print ACE units per client and month and quarantined rows by reason."""
    from orchestration.outputs.summary import print_summary

    print_summary(Lake.from_settings(settings_or_exit()), out)


@cli.command()
@click.option("--start", default="2026-10-28", show_default=True, callback=_date)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 31))
@click.option("--scale", default=2000, show_default=True, type=click.IntRange(1))
@click.pass_context
def demo(ctx: click.Context, start: dt.date, days: int, scale: int) -> None:
    """Generate `--days` days of data and run every pipeline on them, then print the summary and
    write dbt's docs page: what `make demo` runs, in one process (one Spark JVM, dbt loaded once)
    rather than a process per command."""
    from orchestration.local.dbt import run_dbt

    end = start + dt.timedelta(days=days - 1)
    settings = settings_or_exit()
    lake = Lake.from_settings(settings)
    console.rule(f"demo: {days} day(s) from {start}, {scale:,} attempts a day, in {lake.root}")
    ctx.invoke(generate, start=start, days=days, scale=scale)
    ctx.invoke(load, paths=(os.path.join(lake.root, "incoming", "customers", "*.csv"),))
    ctx.invoke(backfill, pipeline_name="ace_daily", start=start, end=end)
    ctx.invoke(run, pipeline_name="ace_monthly", month=f"{start:%Y-%m}")
    events = sorted(glob.glob(os.path.join(lake.raw("usage_events"), "dt=*", "*.jsonl")))
    _ingest(lake, "usage-events", _lines_of(events))
    ctx.invoke(run, pipeline_name="usage_daily", date_=end.isoformat())
    payload = json.dumps({"startDate": start.isoformat(), "endDate": end.isoformat()})
    ctx.invoke(workflow, workflow_name="usage_monthly_report", payload=payload)
    # The days before the last are curated alone; social_daily curates the last one itself.
    if end > start:
        ctx.invoke(
            backfill, pipeline_name="social_daily", start=start,
            end=end - dt.timedelta(days=1), task_name="social_curation_daily",
        )  # fmt: skip
    ctx.invoke(run, pipeline_name="social_daily", date_=end.isoformat())
    ctx.invoke(summary)
    # dbt's docs site as one self-contained page (the daily form of the models' SQL).
    log = os.path.join(lake.runs, "logs", "dbt-docs.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    run_dbt(settings, lake, ["docs", "generate", "--static"], {"ACE_LANDING_DATE": str(end)}, log)
    page = os.path.join(lake.root, "_dbt", "target", "static_index.html")
    console.print(f"dbt docs: open {page} in a browser (one file, offline)")


def _lines_of(paths: list[str]) -> Iterator[bytes]:
    for path in paths:
        with open(path, "rb") as handle:
            yield from handle


@cli.group()
def aws() -> None:
    """AWS artefacts generated from the pipeline declarations."""


@aws.command("render")
@click.argument("pipeline_name", metavar="[PIPELINE|WORKFLOW]", required=False)
def aws_render(pipeline_name: str | None) -> None:
    """Print the EventBridge rule, Batch job definitions, EMR steps and Step Functions state
    machine of one pipeline or workflow (or of all of them) as JSON."""
    from orchestration.aws.render import render, render_all, render_workflow, render_workflows
    from orchestration.workflows import WORKFLOWS

    if pipeline_name in WORKFLOWS:
        document = render_workflow(WORKFLOWS[pipeline_name])
    elif pipeline_name:
        document = render(_pipeline(pipeline_name))
    else:
        document = {**render_all(), **render_workflows()}
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@aws.command("batch-jobs")
@click.argument("pipeline_name", metavar="PIPELINE")
@click.option("--date", "value", required=True, help="the run's date YYYY-MM-DD")
def aws_batch_jobs(pipeline_name: str, value: str) -> None:
    """Print the submit_batch_jobs Lambda input that runs a daily pipeline for --date as
    separate Batch jobs (one per shard of a sharded task), as the original system did."""
    from orchestration.aws.render import batch_jobs_event
    from orchestration.local.runner import RunError, parse_params

    pipeline = _pipeline(pipeline_name)
    if pipeline.param != "date":
        raise click.UsageError(f"{pipeline.name} is not a daily pipeline")
    try:
        params = parse_params(pipeline, value)
    except RunError as err:
        raise click.BadParameter(str(err)) from None
    click.echo(json.dumps(batch_jobs_event(pipeline, params), indent=2))


@cli.command()
@click.option("--out", default="dist", show_default=True, help="folder to write the bundle to")
def package(out: str) -> None:
    """Build the deployable bundle (code zip, Spark job scripts, Lambda zip, dbt project),
    byte-for-byte reproducible."""
    from orchestration.aws.package import build_bundle

    bundle = build_bundle(out)
    for name, digest in sorted(bundle.files.items()):
        size = os.path.getsize(os.path.join(out, name))
        console.print(f"  {name:<40} {size:>12,} bytes  sha256 {digest[:12]}")
    console.print(f"bundle {bundle.version} written to {out}/")


@cli.command()
@click.option("--bucket", required=True, help="the code bucket")
@click.option("--prefix", default="analytics", show_default=True)
@click.option("--from", "folder", default="dist", show_default=True, help="a packaged bundle")
def publish(bucket: str, prefix: str, folder: str) -> None:
    """Upload a packaged bundle to s3://BUCKET/PREFIX/ (and PREFIX/versions/<version>/)."""
    from orchestration.aws.package import publish as upload
    from orchestration.aws.package import read_bundle

    bundle = read_bundle(folder)
    keys = upload(bundle, bucket, prefix)
    console.print(f"bundle {bundle.version}: {len(keys)} objects to s3://{bucket}/{prefix}/")


@cli.group()
def ingest() -> None:
    """Bring records in through the local Firehose-compatible delivery stream."""


@ingest.command("events")
@click.option("--stream", default="usage-events", show_default=True, help="delivery stream name")
def ingest_events(stream: str) -> None:
    """Usage events as JSON lines on stdin → lake/usage_events (PutRecordBatch semantics)."""
    _ingest(Lake.from_settings(settings_or_exit()), stream, sys.stdin.buffer)


def _ingest(lake: Lake, stream: str, lines: Iterable[bytes]) -> None:
    """JSON lines through the delivery stream `stream`, then what became of them."""
    from ingestion.firehose import DeliveryStream, ingest_lines

    with DeliveryStream(lake, stream) as delivery:
        report = ingest_lines(delivery, lines)
    console.print(
        f"{report.lines:,} record(s) read: {report.accepted:,} accepted in {report.batches:,} "
        f"batch(es), {delivery.stats.delivered:,} delivered to {lake.curated('usage_events')}, "
        f"{delivery.stats.failed_conversion:,} failed conversion"
        + (f", {report.refused:,} refused (over the record size limit)" if report.refused else "")
    )
    if delivery.stats.failed_conversion or report.refused:
        console.print(f"  the records not delivered are in {lake.quarantine('events')}")


@cli.group()
def serve() -> None:
    """Local endpoints speaking AWS APIs."""


@serve.command("firehose")
@click.option("--port", default=4573, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--stream", "streams", multiple=True, default=["usage-events"], show_default=True)
@click.option("--buffer-seconds", default=60.0, show_default=True, type=click.FloatRange(0.1))
@click.option("--buffer-mib", default=64.0, show_default=True, type=click.FloatRange(0.001))
def serve_firehose(
    port: int, host: str, streams: tuple[str, ...], buffer_seconds: float, buffer_mib: float
) -> None:
    """The Firehose JSON API on http://HOST:PORT (PutRecord, PutRecordBatch, List/Describe).
    SIGINT or SIGTERM stops it after delivering every buffered record."""
    import signal
    import threading

    from ingestion.firehose import BufferingHints, DeliveryStream
    from ingestion.server import FirehoseServer

    lake = Lake.from_settings(settings_or_exit())
    hints = BufferingHints(int(buffer_mib * 1024 * 1024), buffer_seconds)
    server = FirehoseServer((host, port), {n: DeliveryStream(lake, n, hints) for n in streams})
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    console.print(
        f"Firehose API on {server.url} (streams: {', '.join(streams)}) → {lake.root}; "
        "Ctrl-C to stop"
    )
    stop.wait()
    server.stop()
    delivered = sum(s.stats.delivered for s in server.streams.values())
    failed = sum(s.stats.failed_conversion for s in server.streams.values())
    console.print(f"stopped: {delivered:,} record(s) delivered, {failed:,} failed conversion")


def _debug() -> bool:
    """ANALYTICS_DEBUG=1: every failure shows its traceback."""
    try:
        return get_settings().debug
    except ValidationError:
        return False


def _crash_log(text: str) -> str:
    """Write an internal failure's traceback where the run logs go; returns the file's path."""
    try:
        folder = os.path.join(Lake.from_settings(get_settings()).runs, "logs", "cli")
    except ValidationError:
        folder = os.path.join(tempfile.gettempdir(), "analytics-runs", "logs", "cli")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{os.getpid()}.log")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


ENDS_WITH_COMMAND = "process_ends_with_command"


def _process_ends_with_command() -> bool:
    """Whether this command runs as the `analytics` program (main), whose process ends with it."""
    obj = click.get_current_context().obj
    return isinstance(obj, dict) and obj.get(ENDS_WITH_COMMAND) is True


# Python's cyclic garbage collector, for a short process with a large heap (pyspark, dbt, DuckDB
# and what they import): a young generation of 50,000 objects rather than 700, and full
# collections rarer. A cold 1M-attempt daily run spent 0.69-0.79 s in collections (~814 young
# ones, 6 full), and 0.33-0.36 s with these (11, 1): docs/benchmarks.md.
GC_THRESHOLDS = (50_000, 20, 100)


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        cli(standalone_mode=True, obj={ENDS_WITH_COMMAND: True})
    except InputError as err:  # the user's mistake: what was wrong and how to fix it
        if _debug():
            raise
        console.print(f"[red]error:[/] {err}", soft_wrap=True)
        sys.exit(2)
    except Exception as err:  # not the user's mistake: say where to find out what happened
        if _debug():
            raise
        command = " ".join(["analytics", *sys.argv[1:2]])
        log = _crash_log(traceback.format_exc())
        summary = f"{type(err).__name__}: {err}".splitlines()[0][:300]
        console.print(
            f"[red]internal error in {command}:[/] {summary} (log: {log}; "
            "ANALYTICS_DEBUG=1 shows the traceback)",
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
