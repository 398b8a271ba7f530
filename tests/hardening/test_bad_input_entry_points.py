"""The bad-input catalogue through every entry point that is not a Spark job: the warehouse
loader, the Firehose-compatible ingestion (library, HTTP API, CLI), every Lambda handler, and
the `analytics` command's arguments. Each case ends in quarantine / the error output with a
reason, or in one clear line; nothing valid is lost and nothing half-done is left behind."""

from __future__ import annotations

import glob
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from ingestion.firehose import BufferingHints, DeliveryStream
from ingestion.loader import LoadError, load
from ingestion.server import handle
from ingestion.warehouse import DuckDBWarehouse
from orchestration.aws.events import InvalidEvent
from orchestration.aws.handlers import (
    launch_emr,
    on_object_created,
    render_usage_report,
    start_workflow,
    submit_batch_jobs,
)
from orchestration.core.lake import Lake

REGION = "eu-west-1"
HEADER = "customer_id,client_id,is_test,segment,created_at,updated_at"
GOOD_ROW = "c1,k1,false,smb,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z"
SQL_ISH = "x'); DROP TABLE dim_customer; --"

# --- the warehouse loader (§5.3): a bad file is refused whole, the table stays as it was ----

LOADER_CASES = {
    "empty file": (b"", "line 1: header None"),
    "header only is fine, no rows": None,
    "renamed column": (
        f"{HEADER.replace('segment', 'tier')}\n{GOOD_ROW}\n".encode(),
        "line 1: header",
    ),
    "missing column": (
        (
            b"customer_id,client_id,is_test,created_at,updated_at\n"
            b"c9,k1,false,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n"
        ),
        "line 1: header",
    ),
    "extra field in a row": (
        f"{HEADER}\n{GOOD_ROW},surprise\n".encode(),
        "line 2: 7 fields, expected 6",
    ),
    "wrong type": (
        f"{HEADER}\nc9,k1,maybe,smb,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n".encode(),
        "line 2: is_test='maybe' is not true/false",
    ),
    "missing required value": (
        f"{HEADER}\nc9,,false,smb,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n".encode(),
        "line 2: client_id is empty",
    ),
    "unparseable timestamp": (
        f"{HEADER}\nc9,k1,false,smb,yesterday,2026-01-01T00:00:00Z\n".encode(),
        "line 2: created_at='yesterday' is not an ISO-8601 timestamp",
    ),
    "impossible date": (
        f"{HEADER}\nc9,k1,false,smb,2026-02-30T00:00:00Z,2026-01-01T00:00:00Z\n".encode(),
        "line 2: created_at='2026-02-30T00:00:00Z' is not an ISO-8601",
    ),
    "out-of-range timestamp": (
        f"{HEADER}\nc9,k1,false,smb,0001-01-01T00:00:00Z,2026-01-01T00:00:00Z\n".encode(),
        "line 2: created_at='0001-01-01T00:00:00Z' is outside 2000-2099",
    ),
    "timestamp without zone": (
        f"{HEADER}\nc9,k1,false,smb,2026-01-01T00:00:00,2026-01-01T00:00:00Z\n".encode(),
        "has no Z or offset",
    ),
    "duplicate id": (
        f"{HEADER}\n{GOOD_ROW}\n{GOOD_ROW}\n".encode(),
        "line 3: duplicate customer_id 'c1' (first on line 2)",
    ),
    "non-UTF-8 bytes": (
        f"{HEADER}\nc9,Caf\xe9,false,smb,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n".encode(
            "latin-1"
        ),
        "not UTF-8 text",
    ),
    "unclosed quote": (
        f'{HEADER}\n"c9,k1,false,smb,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n'.encode(),
        "unreadable CSV",
    ),
    "gzip bytes": (gzip.compress(f"{HEADER}\n{GOOD_ROW}\n".encode()), "not UTF-8 text"),
}


def _table(warehouse: DuckDBWarehouse) -> list[tuple]:
    with warehouse.transaction() as cur:
        cur.execute("select * from dim_customer order by customer_id")
        customers = [tuple(r) for r in cur.fetchall()]
        cur.execute("select count(*) from load_manifest")
        return [*customers, ("manifest", cur.fetchall()[0][0])]


@pytest.fixture
def loaded(lake):
    """A warehouse holding one customer with a SQL-ish id, loaded from a valid file."""
    folder = lake.ensure_local(lake.incoming("customers"))
    with open(f"{folder}/first.csv", "w") as handle:
        handle.write(f"{HEADER}\n{SQL_ISH},k1,true,smb,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n")
    warehouse = DuckDBWarehouse(lake.warehouse_db)
    load(f"{folder}/first.csv", [warehouse])
    return folder, warehouse


def test_sql_ish_values_are_loaded_verbatim(loaded):
    _, warehouse = loaded
    assert [r[0] for r in _table(warehouse)[:-1]] == [SQL_ISH]


@pytest.mark.parametrize("name", [n for n, c in LOADER_CASES.items() if c])
def test_a_bad_file_is_refused_in_one_line_and_the_table_stays(loaded, name):
    folder, warehouse = loaded
    body, message = LOADER_CASES[name]
    before = _table(warehouse)
    path = f"{folder}/bad.csv"
    with open(path, "wb") as handle:
        handle.write(body)
    with pytest.raises(LoadError) as raised:
        load(path, [warehouse])
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert str(raised.value).startswith("bad.csv: ")
    assert _table(warehouse) == before


@pytest.mark.parametrize(
    "where",
    [
        "s3://lake/incoming/customers/../secrets.csv",
        "s3://lake/incoming/customers/..",
        "s3://lake/incoming/../customers.csv",
        "incoming/../x.csv",
        "/etc/passwd",
    ],
)
def test_a_path_outside_incoming_table_folders_is_refused(loaded, where):
    _, warehouse = loaded
    before = _table(warehouse)
    with pytest.raises(LoadError) as raised:
        load(where, [warehouse])
    assert "\n" not in str(raised.value)
    assert _table(warehouse) == before


# --- ingestion: the Firehose-compatible stream ------------------------------------------------


def usage(**fields) -> bytes:
    return json.dumps(fields).encode()


INGEST_CASES = [
    # (record bytes, delivered?, error code when not)
    (usage(id="e1", userId="u1", format="video", timestamp="2026-10-05T13:45:10Z"), True, None),
    (usage(id=SQL_ISH, userId="u1", format="video", timestamp=1791331200000), True, None),
    (usage(id="e1", userId="u1", format="video", timestamp="2026-10-05T13:45:10Z"), True, None),
    (
        usage(ID="e4", USERID="u1", Format="audio", timestamp="2026-10-05T15:10:00+02:00", x=1),
        True,
        None,
    ),
    (b'{"id": "e5", "userId": "u1", "format": "video"', False, "MalformedData"),
    (b"", False, "MalformedData"),
    (b"[1, 2]", False, "MalformedData"),
    (
        '{"id": "caf\xe9", "userId": "u1", "format": "video", "timestamp": 1}'.encode("latin-1"),
        False,
        "MalformedData",
    ),
    (usage(id="e6", userId="u1", format="video"), False, "MissingField"),
    (
        usage(eventId="e7", userId="u1", format="video", timestamp=1791331200000),
        False,
        "MissingField",
    ),
    (usage(id=7, userId="u1", format="video", timestamp=1791331200000), False, "InvalidFieldType"),
    (
        usage(id="e8", userId="u1", format="video", timestamp="next tuesday"),
        False,
        "InvalidTimestamp",
    ),
    (
        usage(id="e9", userId="u1", format="video", timestamp="2026-02-30T00:00:00Z"),
        False,
        "InvalidTimestamp",
    ),
    (usage(id="e10", userId="u1", format="video", timestamp=1791331200), False, "InvalidTimestamp"),
    (
        usage(id="e11", userId="u1", format="video", timestamp="9999-12-31T00:00:00Z"),
        False,
        "InvalidTimestamp",
    ),
    (usage(id="e12", userId="u1", format="video", timestamp=10**30), False, "InvalidTimestamp"),
]


def delivered_ids(lake) -> list[str]:
    files = glob.glob(os.path.join(lake.curated("usage_events"), "dt=*", "hour=*", "*.parquet"))
    return sorted(row["id"] for f in files for row in pq.read_table(f).to_pylist())


def error_codes(lake) -> list[str]:
    folder = os.path.join(lake.quarantine("events"), "processing-failed")
    files = glob.glob(os.path.join(folder, "dt=*", "*.jsonl"))
    lines = [line for f in files for line in Path(f).read_text().splitlines()]
    return sorted(json.loads(line)["lastErrorCode"] for line in lines)


def test_every_stream_record_is_delivered_or_in_the_error_output_with_its_code(lake):
    with DeliveryStream(lake, hints=BufferingHints(64 * 2**20, 3600)) as stream:
        result = stream.put_record_batch([data for data, _, _ in INGEST_CASES])
    assert result.failed_put_count == 0  # conversion failures are not put failures
    assert delivered_ids(lake) == sorted(["e1", SQL_ISH, "e1", "e4"])  # at least once: e1 twice
    want = sorted(f"DataFormatConversion.{code}" for _, ok, code in INGEST_CASES if not ok)
    assert error_codes(lake) == want
    assert len(delivered_ids(lake)) + len(error_codes(lake)) == len(INGEST_CASES)


def test_the_cli_counts_every_line_even_undecodable_and_oversized_ones(tmp_path):
    lines = [data for data, _, _ in INGEST_CASES if data] + [b'{"id": "' + b"x" * 1_100_000 + b'"}']
    env = {**os.environ, "LAKE_ROOT": str(tmp_path / "lake")}
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "ingest", "events"],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()
    lake = Lake(str(tmp_path / "lake"))
    refused = glob.glob(os.path.join(lake.quarantine("events"), "put-refused", "dt=*", "*.jsonl"))
    refused_count = sum(len(Path(f).read_text().splitlines()) for f in refused)
    assert refused_count == 1  # the 1.1 MB line, kept in quarantine, not dropped
    assert len(delivered_ids(lake)) + len(error_codes(lake)) + refused_count == len(lines)


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("Firehose_20150804.PutRecord", b"{not json", "SerializationException"),
        ("Firehose_20150804.PutRecord", b"[1]", "SerializationException"),
        ("Firehose_20150804.PutRecord", b"\xff\xfe", "SerializationException"),
        ("Firehose_20150804.DeleteDeliveryStream", b"{}", "UnknownOperationException"),
        ("Other.PutRecord", b"{}", "UnknownOperationException"),
        (
            "Firehose_20150804.PutRecord",
            json.dumps({"DeliveryStreamName": "../../etc", "Record": {"Data": "e30="}}).encode(),
            "ResourceNotFoundException",
        ),
        (
            "Firehose_20150804.PutRecord",
            json.dumps({"DeliveryStreamName": "usage-events"}).encode(),
            "InvalidArgumentException",
        ),
        (
            "Firehose_20150804.PutRecord",
            json.dumps({"DeliveryStreamName": "usage-events", "Record": {"Data": "%%%"}}).encode(),
            "InvalidArgumentException",
        ),
        (
            "Firehose_20150804.PutRecordBatch",
            json.dumps({"DeliveryStreamName": "usage-events", "Records": "e30="}).encode(),
            "InvalidArgumentException",
        ),
    ],
)
def test_the_http_api_answers_bad_requests_with_an_aws_error_and_delivers_nothing(
    lake, target, body, code
):
    with DeliveryStream(lake, hints=BufferingHints(64 * 2**20, 3600)) as stream:
        status, payload = handle({"usage-events": stream}, target, body)
    assert status >= 400 and payload["__type"] == code
    assert payload["message"] and "\n" not in payload["message"]
    assert delivered_ids(lake) == [] and error_codes(lake) == []


# --- Lambda handlers: a bad event is one clear error and calls nothing --------------------------


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BATCH_JOB_QUEUE": "loads",
        "BATCH_JOB_DEFINITION": "warehouse-load",
        "LAKE_BUCKET": "lake",
        "CODE_BUCKET": "code",
        "PII_SALT_SECRET_ID": "analytics/pii-salt",
        "EMR_SERVICE_ROLE": "emr",
        "EMR_JOB_FLOW_ROLE": "emr-ec2",
        "STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:123456789012:stateMachine:usage",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws(config={"batch": {"use_docker": False}}):
        yield


def s3_event(key: str, **changes) -> dict:
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "lake"}, "object": {"key": key, "etag": "x"}},
    }
    event.update(changes)
    return event


def batch_event(**job) -> dict:
    base = {"jobName": "load", "jobDefinition": "warehouse-load", "jobQueue": "loads"}
    return {"jobs": [{**base, **job}]}


def report_request(start: str, end: str, location: str = "s3://r/x.csv") -> dict:
    return {"startDate": start, "endDate": end, "resultLocation": location}


def scheduled(**changes) -> dict:
    return {
        "scheduledTime": "2026-11-03T06:00:00Z",
        "offset": "yesterday",
        "param": "date",
        **changes,
    }


HANDLER_CASES = [
    (on_object_created, [], "must be a JSON object"),
    (on_object_created, "incoming/customers/a.csv", "must be a JSON object"),
    (
        on_object_created,
        s3_event("incoming/customers/a.csv", source="aws.ec2"),
        "not an S3 Object Created",
    ),
    (on_object_created, {"source": "aws.s3", "detail-type": "Object Created"}, "lacks bucket.name"),
    (on_object_created, s3_event("incoming/../secrets.csv"), "unknown table '..'"),
    (on_object_created, s3_event("incoming/customers/.."), "is not incoming/<table>/<file>"),
    (
        on_object_created,
        s3_event("incoming/customers/../../x.csv"),
        "is not incoming/<table>/<file>",
    ),
    (on_object_created, s3_event("incoming/customers/"), "is not incoming/<table>/<file>"),
    (on_object_created, s3_event("incoming/orders; drop table x/a.csv"), "unknown table"),
    (submit_batch_jobs, None, "invalid BatchJobsEvent"),
    (submit_batch_jobs, {"jobs": []}, "jobs: List should have at least 1 item"),
    (submit_batch_jobs, batch_event(jobName="x'; drop --"), "jobs.0.jobName: String should match"),
    (submit_batch_jobs, batch_event(shards=0), "jobs.0.shards"),
    (submit_batch_jobs, batch_event(shards="two"), "jobs.0.shards"),
    (submit_batch_jobs, batch_event(surprise=1), "jobs.0.surprise: Extra inputs"),
    (submit_batch_jobs, batch_event(dependsOn=["later"]), "not earlier jobs"),
    (submit_batch_jobs, batch_event(containerOverrides={"environment": "A=1"}), "environment"),
    (launch_emr, [], "invalid EmrLaunchEvent"),
    (
        launch_emr,
        {"name": "x", "steps": [{"job": "../../bin/sh", "args": []}]},
        "unknown Spark job",
    ),
    (
        launch_emr,
        {"name": "x", "steps": [{"job": "listings_postprocessing", "args": "--date"}]},
        "steps.0.args",
    ),
    (launch_emr, scheduled(offset="tomorrow"), "offset"),
    (launch_emr, scheduled(scheduledTime="2026-02-30T06:00:00Z"), "scheduledTime"),
    (start_workflow, [], "non-empty JSON object"),
    (start_workflow, {}, "non-empty JSON object"),
    (start_workflow, scheduled(scheduledTime="not a time"), "scheduledTime"),
    (render_usage_report, report_request("2026-02-30", "2026-03-01"), "startDate"),
    (render_usage_report, report_request("2026-03-02", "2026-03-01"), "startDate"),
    (
        render_usage_report,
        report_request("2026-01-01", "2026-03-01", "/etc/passwd"),
        "resultLocation",
    ),
    (render_usage_report, report_request("2025-01-01", "2026-03-01"), "year"),
    (render_usage_report, report_request("2026-01-01'; --", "2026-03-01"), "startDate"),
]


def nothing_happened() -> bool:
    batch = boto3.client("batch", region_name=REGION)
    queues = batch.describe_job_queues()["jobQueues"]
    emr = boto3.client("emr", region_name=REGION)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    return (
        queues == []
        and emr.list_clusters()["Clusters"] == []
        and sfn.list_state_machines()["stateMachines"] == []
        and s3.list_buckets()["Buckets"] == []
    )


@pytest.mark.parametrize(
    ("handler", "event", "message"),
    HANDLER_CASES,
    ids=[f"{h.__name__}-{i}" for i, (h, _, _) in enumerate(HANDLER_CASES)],
)
def test_a_bad_event_is_one_clear_error_and_calls_nothing(aws, handler, event, message):
    with pytest.raises(InvalidEvent) as raised:
        handler(event)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert nothing_happened()


# --- the analytics command: a mistake is one line, exit 2, no traceback ------------------------

CLI_CASES = [
    ["generate", "--start", "2026-02-30"],
    ["generate", "--start", "2026-01-01", "--days", "0"],
    ["generate", "--start", "2026-01-01", "--scale", "-5"],
    ["load", "/no/such/file.csv"],
    ["load", "incoming/../x.csv"],
    ["copy-lake", "--from", "2026-13-01"],
    ["run", "no_such_pipeline", "--date", "2026-01-01"],
    ["run", "ace_daily", "--date", "2026-02-30"],
    ["run", "ace_daily", "--date", "2026-01-01'; drop table x; --"],
    ["run", "ace_daily"],
    ["run", "ace_monthly", "--month", "2026-13"],
    ["run", "ace_daily", "--date", "2026-01-01", "--task", "no_such_task"],
    ["backfill", "ace_daily", "--from", "2026-01-05", "--to", "2026-01-01"],
    ["backfill", "ace_daily", "--from", "2026-02-30", "--to", "2026-03-01"],
    ["aws", "render", "no_such_pipeline"],
    ["aws", "batch-jobs", "social_daily", "--date", "2026-02-30"],
    ["workflow", "usage_monthly_report", "--payload", "{not json"],
    [
        "workflow",
        "usage_monthly_report",
        "--payload",
        '{"startDate": "2026-03-01", "endDate": "2026-01-01"}',
    ],
    ["workflow", "usage_monthly_report", "--payload", "@/no/such/payload.json"],
    ["workflow", "usage_monthly_report", "--month", "2026-00"],
    ["workflow", "no_such_workflow", "--month", "2026-01"],
    ["publish", "--bucket", "b", "--from", "/no/such/dist"],
    ["serve", "firehose", "--port", "99999"],
    ["history", "--limit", "-1"],
    ["summary"],
    ["bench", "--scale", "0"],
]


@pytest.mark.parametrize("args", CLI_CASES, ids=[" ".join(a)[:60] for a in CLI_CASES])
def test_a_command_line_mistake_is_one_line_and_exit_2(tmp_path, args):
    env = {**os.environ, "LAKE_ROOT": str(tmp_path / "lake")}
    env.pop("ANALYTICS_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    error_lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert any(line.startswith(("error:", "Error:")) for line in error_lines), done.stderr
    # The message itself is one line (click may print the usage line above it).
    assert len([line for line in error_lines if not line.startswith(("Usage:", "Try "))]) == 1
    assert not os.path.exists(tmp_path / "lake" / "lake")  # nothing was processed


def test_an_internal_failure_is_not_reported_as_a_mistake_and_keeps_its_traceback(tmp_path):
    """A failure that is not the user's mistake (here: a damaged analytics database) names the
    command and the log holding its traceback; ANALYTICS_DEBUG=1 prints the traceback."""
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "analytics.duckdb").write_bytes(b"not a database" * 300)
    env = {**os.environ, "LAKE_ROOT": str(lake)}
    env.pop("ANALYTICS_DEBUG", None)
    command = [sys.executable, "-m", "orchestration.cli", "summary"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(lines) == 1 and lines[0].startswith("internal error in analytics summary: ")
    assert "not a valid DuckDB database file" in lines[0]
    log = lines[0].split("(log: ", 1)[1].split(";", 1)[0]
    assert log.startswith(str(lake / "_runs" / "logs" / "cli"))
    with open(log, encoding="utf-8") as handle:
        assert handle.read().startswith("Traceback (most recent call last):")

    debug = subprocess.run(
        command, capture_output=True, text=True, env={**env, "ANALYTICS_DEBUG": "1"}, timeout=120
    )
    assert debug.returncode == 1 and "Traceback (most recent call last):" in debug.stderr


# --- the Spark jobs' own entry points (what EMR steps and Batch jobs spark-submit) -------------

SPARK_JOBS = [
    "notification_attempted",
    "notification_delivered",
    "outcome_experience_lookup",
    "listings_postprocessing",
    "social_curation",
    "social_analytics",
]
JOB_ARGUMENT_CASES = [
    (["--date", "2026-02-30"], "'2026-02-30' is not a valid date (YYYY-MM-DD)"),
    (["--date", "2026-01-01'; drop table x; --"], "is not a valid date"),
    ([], "the following arguments are required: --date"),
]


def spark_job(job: str, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", f"spark_jobs.{job}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.parametrize("job", SPARK_JOBS)
@pytest.mark.parametrize(("args", "message"), JOB_ARGUMENT_CASES)
def test_a_spark_job_refuses_bad_arguments_in_one_line(job, args, message):
    done = spark_job(job, *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert message in done.stderr.splitlines()[-1]


@pytest.mark.spark
def test_a_spark_job_without_its_raw_day_says_so_in_one_line(tmp_path):
    lake = str(tmp_path / "lake")
    done = spark_job("notification_attempted", "--date", "2026-01-01", env={"LAKE_ROOT": lake})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: no raw data at ") and "dt=2026-01-01" in last
