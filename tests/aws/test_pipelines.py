"""Each pipeline and workflow run in the emulated account the way AWS runs it (see conftest.py),
from the event that starts it; where the engine runs here (Spark, the Python tasks), the outputs
on the emulated S3 equal the same day run on a folder lake."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from orchestration.core.lake import Lake
from orchestration.devtools.generate import GenerateOptions, generate
from tests.published import published

pytestmark = pytest.mark.spark

DAY = dt.date(2026, 10, 26)  # a Monday: the listings scrape lands on it
EVENTS = Path(__file__).resolve().parent.parent / "events"


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> Path:
    """One generated landing day on a folder lake (every raw dataset, the customers file)."""
    root = tmp_path_factory.mktemp("folder") / "lake"
    generate(Lake(str(root)), GenerateOptions(DAY, days=1, scale=200, seed=27))
    return root


def _rows(data: bytes) -> Counter:
    """A Parquet file's rows as a multiset; a quarantined line's source file from its raw/ on
    (the lakes' roots differ)."""
    rows = Counter()
    for row in pq.read_table(io.BytesIO(data)).to_pylist():
        if row.get("source_file"):
            row["source_file"] = "raw/" + row["source_file"].split("/raw/", 1)[1]
        rows[tuple(sorted((k, repr(v)) for k, v in row.items()))] += 1
    return rows


def _partitions(objects: dict[str, bytes]) -> dict[str, Counter]:
    """Published partition → rows of the data files its manifest lists (what Athena reads)."""
    listed = published(objects, key_of=lambda uri: uri.split("/", 3)[3])
    return {p: sum((_rows(objects[k]) for k in keys), Counter()) for p, keys in listed.items()}


def _folder_rows(objects: dict[str, bytes]) -> dict[str, Counter]:
    """Partition folder → rows of its Parquet files (a folder lake's layout)."""
    out: dict[str, Counter] = {}
    for key, body in objects.items():
        if key.endswith(".parquet"):
            folder = key.rsplit("/", 1)[0]
            out[folder] = out.get(folder, Counter()) + _rows(body)
    return out


def _folder_partitions(root: Path, prefix: str) -> dict[str, Counter]:
    objects = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in (root / prefix).rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    }
    return _folder_rows(objects)


def _run_locally(root: Path, pipeline: str, params: dict[str, str], salt: str) -> None:
    from orchestration.core.settings import Settings
    from orchestration.local.runner import Runner
    from orchestration.pipelines import PIPELINES

    result = Runner(Settings(LAKE_ROOT=str(root), PII_SALT=salt)).run(PIPELINES[pipeline], params)
    assert result.succeeded, result.failed_tasks


def _object_created(account, key: str) -> dict:
    """The S3 Object Created event EventBridge delivers for `key` of the lake bucket."""
    head = account.client("s3").head_object(Bucket=account.lake_bucket, Key=key)
    event = json.loads((EVENTS / "s3_object_created_customers.json").read_text())
    event["resources"] = [f"arn:aws:s3:::{account.lake_bucket}"]
    event["detail"]["bucket"]["name"] = account.lake_bucket
    event["detail"]["object"].update(
        key=key, size=head["ContentLength"], etag=head["ETag"].strip('"')
    )
    return event


@pytest.fixture(scope="module")
def warehouse_loaded(account, landed) -> dict:
    """incoming/customers/<file>.csv put on the lake; its Object Created event through the
    deployed handler; the submitted job's command run, twice (the same object again)."""
    [path] = sorted((landed / "incoming" / "customers").glob("*.csv"))
    key = f"incoming/customers/{path.name}"
    account.client("s3").put_object(Bucket=account.lake_bucket, Key=key, Body=path.read_bytes())
    event = _object_created(account, key)
    submitted = account.invoke("on_object_created", event)
    [job] = account.client("batch").describe_jobs(jobs=[submitted["jobId"]])["jobs"]
    definition = job["jobDefinition"].rsplit("/", 1)[-1].split(":")[0]
    runs = [account.run_batch_job(definition, job["parameters"]) for _ in range(2)]
    return {"path": path, "event": event, "definition": definition, "runs": runs}


def test_warehouse_load_from_an_s3_object_created_event(account, warehouse_loaded):
    """The rule's pattern matches the real event shape; the handler submits the load job; its
    command loads the file into the warehouse (the secret's PostgreSQL), once."""
    from moto.events.models import EventPattern  # moto's own matcher (it routes put_events)

    rule = account.client("events").describe_rule(Name="analytics-warehouse-load")
    event = warehouse_loaded["event"]
    assert EventPattern.load(rule["EventPattern"]).matches_event(event)
    outside = json.loads(json.dumps(event))
    outside["detail"]["object"]["key"] = "raw/customers.csv"
    assert not EventPattern.load(rule["EventPattern"]).matches_event(outside)
    assert warehouse_loaded["definition"] == "analytics-warehouse-load-load"
    for run in warehouse_loaded["runs"]:
        assert run.returncode == 0, run.output

    with open(warehouse_loaded["path"], newline="", encoding="utf-8") as handle:
        expected = {r["customer_id"]: r for r in csv.DictReader(handle)}
    with psycopg.connect(account.warehouse_url) as conn:
        rows = conn.execute("select customer_id, client_id, is_test from dim_customer").fetchall()
    assert len(rows) == len(expected)  # the second load added nothing
    assert {r[0]: (r[1], r[2]) for r in rows} == {
        c: (r["client_id"], r["is_test"].lower() == "true") for c, r in expected.items()
    }


def test_listings_weekly_on_an_ephemeral_emr_cluster(account, landed, tmp_path):
    """The Monday rule → launch_emr → RunJobFlow; each step of the launched cluster is
    spark-submitted: the S3 lake then holds the rows the folder lake holds for the same day."""
    account.upload_tree(landed, "raw/listings")
    event = account.rule_input("analytics-listings-weekly", f"{DAY}T07:00:00Z")
    launched = account.invoke("launch_emr", event)
    emr = account.client("emr")
    cluster = emr.describe_cluster(ClusterId=launched["clusterId"])["Cluster"]
    assert cluster["ReleaseLabel"] == "emr-spark-8.1.0"
    steps = emr.list_steps(ClusterId=launched["clusterId"])["Steps"]
    assert [s["Name"] for s in steps] == ["listings_postprocessing"]
    for step in reversed(steps):  # ListSteps returns the newest first
        done = account.run_emr_step(step)
        assert done.returncode == 0, done.output

    folder = tmp_path / "lake"
    for path in (landed / "raw" / "listings").rglob("*"):
        if path.is_file():
            target = folder / path.relative_to(landed)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    _run_locally(folder, "listings_weekly", {"date": DAY.isoformat()}, "unused-salt")
    expected = {
        **_folder_partitions(folder, "lake"),
        **_folder_partitions(folder, "quarantine"),
    }
    assert {p.split("/dt=")[0] for p in expected} >= {
        "lake/listings",
        "lake/listings_neighbourhood_stats",
    }
    on_s3 = {p: r for p, r in _partitions(account.objects()).items() if "listings" in p}
    assert on_s3 == expected


def _copy(landed: Path, folder: Path, *zones: str) -> None:
    for zone in zones:
        for path in (landed / zone).rglob("*"):
            if path.is_file():
                target = folder / path.relative_to(landed)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())


def _athena_queries(account) -> list[dict]:
    athena = account.client("athena")
    ids = athena.list_query_executions()["QueryExecutionIds"]
    return [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]


def _assert_dbt_reached_athena(account, steps, sources: set[str]) -> None:
    """moto's Athena runs no SQL: a dbt job's queries reach it (in the workgroup, over the
    sources' Glue tables) and it fails only where the emulation stops (conftest.EMULATION_LIMITS),
    which the executor takes as the service's success."""
    dbt = [s for s in steps if "dbt" in s.detail]
    assert dbt and all(s.emulated for s in dbt), [s.output for s in dbt]
    queries = _athena_queries(account)
    assert {q["WorkGroup"] for q in queries} == {"analytics"}
    text = " ".join(q["Query"] for q in queries)
    for source in sources:
        assert f'"awsdatacatalog"."lake"."{source}"' in text, source


ACE_TABLES = {
    "lake/notification_attempts",
    "lake/notification_receipts",
    "lake/experiences",
    "lake/dim_customer",
    "quarantine/notification_attempts",
    "quarantine/notification_receipts",
    "quarantine/experiences",
}


@pytest.fixture(scope="module")
def ace_day(account, landed, warehouse_loaded, tmp_path_factory) -> dict:
    """ace_daily for DAY from its schedule (05:00 the next day) in the account, and the same day
    on a folder lake (the customers loaded into its local warehouse)."""
    from tests.aws.conftest import SALT

    account.upload_tree(landed, "raw/notifications")
    account.upload_tree(landed, "raw/experiences")
    fired = f"{DAY + dt.timedelta(days=1)}T05:00:00Z"
    event = account.rule_input("analytics-ace-daily", fired)
    started = account.invoke("start_workflow", event)
    execution = account.run_execution(started["executionArn"])

    folder = tmp_path_factory.mktemp("ace") / "lake"
    _copy(landed, folder, "raw", "incoming")
    from ingestion.loader import load
    from ingestion.warehouse import configured_warehouses
    from orchestration.core.settings import Settings

    settings = Settings(LAKE_ROOT=str(folder), PII_SALT=SALT)
    [customers] = sorted((folder / "incoming" / "customers").glob("*.csv"))
    load(str(customers), configured_warehouses(settings, Lake.from_settings(settings)))
    _run_locally(folder, "ace_daily", {"date": DAY.isoformat()}, SALT)
    return {"execution": execution, "folder": folder, "started": started}


def test_ace_daily_from_its_schedule(account, ace_day):
    """The Spark tasks as EMR Serverless job runs, the replication and dbt as Batch jobs: the
    curated and quarantined day on S3 equals the folder lake's. Not checked here: the dbt
    models' rows (moto's Athena runs no SQL; tests/e2e builds them on DuckDB and PostgreSQL)."""
    execution = ace_day["execution"]
    assert execution.status == "SUCCEEDED", [(s.state, s.output) for s in execution.steps]
    ran = sorted((s.state, s.kind) for s in execution.steps)
    assert ran == [
        ("dbt_build_ace", "batch"),
        ("dim_customer_daily", "batch"),
        ("notification_attempted_daily", "spark-submit"),
        ("notification_delivered_daily", "spark-submit"),
        ("outcome_experience_lookup_daily", "spark-submit"),
    ]
    expected = {
        k: v
        for zone in ("lake", "quarantine")
        for k, v in _folder_partitions(ace_day["folder"], zone).items()
    }
    assert {p.split("/dt=")[0] for p in expected} == ACE_TABLES
    on_s3 = {
        p: r for p, r in _partitions(account.objects()).items() if p.split("/dt=")[0] in ACE_TABLES
    }
    assert on_s3.keys() == expected.keys()
    for partition, rows in expected.items():
        assert on_s3[partition] == rows, partition
    _assert_dbt_reached_athena(account, execution.steps, {"notification_attempts"})
    # dbt's artefacts of the run are in the lake's run folder.
    assert [
        k
        for k in account.objects_keys("_runs/artifacts/ace_daily.dbt_build_ace/")
        if k.endswith("/build/run_results.json")
    ]


def test_ace_monthly_exports_the_same_csv_bytes_as_locally(account, ace_day):
    """The monthly rule (06:00 on the 1st) → the month's rebuild (dbt, emulated as above) → the
    Finance export queries Athena and writes the CSVs. moto's Athena is given the rows of the
    folder lake's own monthly run for those queries (it runs no SQL); the files on S3 must be
    byte for byte the folder lake's, and the queries must select the month in grain order."""
    from orchestration.outputs.exports import FINANCE_EXPORTS, export_path
    from tests.aws.conftest import SALT

    folder = ace_day["folder"]
    _run_locally(folder, "ace_monthly", {"month": "2026-10"}, SALT)
    local = {
        e.model: Path(export_path(Lake(str(folder)), e.model, "2026-10")).read_bytes()
        for e in FINANCE_EXPORTS
    }
    assert all(len(body.splitlines()) > 1 for body in local.values())

    def queue_results() -> None:
        for export in FINANCE_EXPORTS:
            rows = list(csv.reader(io.StringIO(local[export.model].decode())))
            account.queue_athena_result([tuple(v if v != "" else None for v in r) for r in rows])

    event = account.rule_input("analytics-ace-monthly", "2026-11-01T06:00:00Z")
    started = account.invoke("start_workflow", event)
    execution = account.run_execution(
        started["executionArn"], before={"export_finance": queue_results}
    )
    assert execution.status == "SUCCEEDED", [(s.state, s.output) for s in execution.steps]
    assert [s.state for s in execution.steps] == ["dbt_build_ace_month", "export_finance"]
    for export in FINANCE_EXPORTS:
        key = f"exports/finance/{export.model}/month=2026-10/{export.model}.csv"
        assert account.objects(key)[key] == local[export.model], export.model
    exports = [
        q
        for q in _athena_queries(account)
        if "order by" in q["Query"] and "billing_month = date '2026-10-01'" in q["Query"]
    ]
    assert len(exports) == 2
    assert {q["QueryExecutionContext"]["Database"] for q in exports} == {"analytics"}


SOCIAL_RAW = ("raw/ticketing", "raw/users", "raw/social")


def test_social_daily_from_its_schedule(account, landed, tmp_path):
    """Curation, then one EMR Serverless job run per shard (at once), then dbt: the statistics
    and the documents on S3 equal the folder lake's, byte for byte for the documents."""
    from tests.aws.conftest import SALT

    for zone in SOCIAL_RAW:
        account.upload_tree(landed, zone)
    event = account.rule_input("analytics-social-daily", f"{DAY + dt.timedelta(days=1)}T06:00:00Z")
    started = account.invoke("start_workflow", event)
    execution = account.run_execution(started["executionArn"])
    assert execution.status == "SUCCEEDED", [(s.state, s.output[-3000:]) for s in execution.steps]
    assert sorted(s.state for s in execution.steps) == [
        "dbt_build_social", "social_analytics_1", "social_analytics_2", "social_curation_daily",
    ]  # fmt: skip
    shards = sorted(s.detail for s in execution.steps if s.state.startswith("social_analytics"))
    assert shards == [f"social_daily social_analytics --date {DAY}"] * 2

    folder = tmp_path / "lake"
    _copy(landed, folder, *SOCIAL_RAW)
    _run_locally(folder, "social_daily", {"date": DAY.isoformat()}, SALT)
    tables = ("lake/ticketing", "lake/users", "lake/social", "quarantine/")
    expected = {
        k: v
        for zone in ("lake", "quarantine")
        for k, v in _folder_partitions(folder, zone).items()
        if k.startswith(tables)
    }
    assert {"lake/social_event_stats", "lake/social_brand_stats"} <= {
        p.split("/dt=")[0] for p in expected
    }
    written = account.objects()
    # The account is shared: other tests' pipelines left quarantine days of their own there.
    on_s3 = {p: r for p, r in _partitions(written).items() if p in expected}
    assert on_s3 == expected
    documents = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in (folder / "exports" / "social").rglob("*")
        if p.is_file()
    }
    assert documents
    assert {k: v for k, v in written.items() if k.startswith("exports/social/")} == documents
    _assert_dbt_reached_athena(account, execution.steps, {"social_event_stats"})


def test_usage_daily_over_what_firehose_delivered(account, landed, tmp_path):
    """The events through the deployed stream's transformation Lambda (its handler, given the
    records as Firehose batches them) come out with the partitions the local stream writes;
    the delivered Parquet on S3 is what the usage build reads. moto runs no Firehose: the
    local stream's files stand for its delivery (test_firehose.py shows both give the same
    rows). The build's source freshness reaches Athena on `ingested_at` (moto returns no row:
    the emulation stops there)."""
    import base64

    from ingestion.firehose import DeliveryStream, ingest_lines

    [raw] = sorted((landed / "raw" / "usage_events").rglob("*.jsonl"))
    lines = [line for line in raw.read_bytes().splitlines() if line.strip()]
    folder = Lake(str(tmp_path / "lake"))
    with DeliveryStream(folder) as stream:
        ingest_lines(stream, lines)
    records = [
        {
            "recordId": str(i),
            "approximateArrivalTimestamp": 1793000000000,
            "data": base64.b64encode(line).decode(),
        }
        for i, line in enumerate(lines)
    ]
    transformed = account.invoke("transform_usage_events", {"records": records})["records"]
    delivered = Counter(
        (
            f"dt={r['metadata']['partitionKeys']['dt']}",
            f"hour={r['metadata']['partitionKeys']['hour']}",
        )
        for r in transformed
        if r["result"] == "Ok"
    )
    local = Counter()
    for path in Path(folder.curated("usage_events")).rglob("*.parquet"):
        local[(path.parent.parent.name, path.parent.name)] += pq.read_metadata(path).num_rows
    assert delivered == local
    refused = [
        p.read_text().splitlines() for p in Path(folder.quarantine("events")).rglob("*.jsonl")
    ]
    assert sum(1 for r in transformed if r["result"] != "Ok") == sum(map(len, refused))

    account.upload_tree(Path(folder.root), "lake/usage_events")
    event = account.rule_input("analytics-usage-daily", f"{DAY + dt.timedelta(days=1)}T05:30:00Z")
    started = account.invoke("start_workflow", event)
    execution = account.run_execution(started["executionArn"])
    assert execution.status == "SUCCEEDED", [(s.state, s.output) for s in execution.steps]
    [step] = execution.steps
    assert step.state == "dbt_build_usage" and step.emulated
    freshness = [q["Query"] for q in _athena_queries(account) if "ingested_at" in q["Query"]]
    assert freshness and '"awsdatacatalog"."lake"."usage_events"' in freshness[0]


def test_the_usage_report_from_its_monthly_schedule(account):
    """08:00 UTC on the 1st → start_workflow with the previous month → the deployed state
    machine, executed by moto's Step Functions (its Athena query, polled; the render Lambda; SNS
    into a subscribed queue standing in for the recipients) → the render function's handler,
    given the payload the state machine sent it, writes the report on S3. moto's Athena runs no
    SQL: the query's result is given to it."""
    account.queue_athena_result(
        [
            ("event_date", "format", "views", "unique_users"),
            (None, "video", "4", "2"),
            ("2026-10-01", "video", "3", "2"),
            ("2026-10-02", "video", "1", "1"),
        ]
    )
    sqs = account.client("sqs")
    queue = sqs.create_queue(QueueName="report-recipients")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    account.client("sns").subscribe(
        TopicArn=account.outputs["ReportsTopic"], Protocol="sqs", Endpoint=queue_arn
    )
    event = account.rule_input("analytics-usage-monthly-report", "2026-11-01T08:00:00Z")
    with account.executing_state_machines("analytics-usage-monthly-report"):
        started = account.invoke("start_workflow", event)
        described = account.wait_for(started["executionArn"])
        history = account.client("stepfunctions").get_execution_history(
            executionArn=started["executionArn"]
        )["events"]
    failures = [e for e in history if "Failed" in e["type"]]
    assert described["status"] == "SUCCEEDED", json.dumps(failures, default=str)[:3000]
    assert json.loads(described["input"]) == {"startDate": "2026-10-01", "endDate": "2026-10-31"}
    [scheduled] = [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for e in history
        if e.get("taskScheduledEventDetails", {}).get("resource") == "invoke"
    ]
    rendered = account.invoke("render_usage_report", scheduled["Payload"])
    report = "exports/usage/2026-10-01_2026-10-31/"
    written = account.objects(report)
    assert {k.removeprefix(report) for k in written} >= {
        "report.html",
        "daily_views.csv",
        "format_totals.csv",
    }
    assert rendered
    [message] = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    ]
    assert message["Subject"] == "Usage report 2026-10-01 to 2026-10-31"
    assert f"s3://{account.lake_bucket}/{report}report.html" in message["Message"]


def test_the_duckdb_tripwire_catches_a_task_that_opens_duckdb(account, tmp_path):
    """The check after every test here can fail: a process started as the account starts its
    tasks, opening DuckDB, is stopped and recorded."""
    import subprocess
    import sys

    record = tmp_path / "opened.txt"
    env = {**account.base_env(), "DUCKDB_TRIPWIRE": str(record)}
    code = "from orchestration.local.catalog import register_partitions as r; from orchestration.core.lake import Lake; r(Lake('/tmp/x'))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "opened a DuckDB database" in done.stderr
    assert "register_partitions" in record.read_text()
