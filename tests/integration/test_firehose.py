"""The Firehose-compatible delivery stream: API semantics, buffering, conversion, error output;
the HTTP endpoint through a real boto3 client; the CLI ways in."""

from __future__ import annotations

import base64
import datetime as dt
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ingestion.firehose import MAX_RECORD_BYTES, BufferingHints, DeliveryStream, InvalidArgument
from ingestion.server import FirehoseServer

LONG = BufferingHints(size_bytes=64 * 1024 * 1024, interval_seconds=3600)


def record(**fields) -> bytes:
    return json.dumps(fields).encode()


def lake_rows(lake) -> list[dict]:
    """Every delivered row with its partition folders, read back from the Parquet files."""
    rows = []
    for path in sorted(
        glob.glob(os.path.join(lake.curated("usage_events"), "*", "*", "*.parquet"))
    ):
        day, hour = path.split(os.sep)[-3:-1]
        for row in pq.read_table(path).to_pylist():
            rows.append({**row, "dt": day, "hour": hour})
    return rows


def error_output(lake, kind="processing-failed") -> list[dict]:
    paths = glob.glob(os.path.join(lake.quarantine("events"), kind, "*", "*.jsonl"))
    return [json.loads(line) for path in sorted(paths) for line in open(path)]


GOOD = [
    record(id="e1", userId="u1", format="video", timestamp="2026-10-05T13:45:10Z"),
    # Epoch milliseconds: 1791331200000 ms = 2026-10-07T00:00:00Z.
    record(id="e2", userId="u2", format="audio", timestamp=1791331200000),
    # Keys in another case and an unknown field (dropped, as Firehose's OpenX SerDe does).
    record(ID="e3", USERID="u1", Format="video", timestamp="2026-10-05T15:10:00+02:00", extra=1),
]


def test_a_batch_gets_per_record_results_and_lands_partitioned_by_event_hour(lake):
    oversized = record(
        id="big",
        userId="u",
        format="x",
        timestamp="2026-10-05T00:00:00Z",
        pad="p" * MAX_RECORD_BYTES,
    )
    bad = [
        b"{not json",
        record(id="e9", format="video", timestamp="2026-10-05T01:00:00Z"),
        b"[1, 2]",
    ]
    with DeliveryStream(lake, hints=LONG) as stream:
        result = stream.put_record_batch([GOOD[0], oversized, *bad, GOOD[1], GOOD[2]])
        api = result.as_api()
        assert api["FailedPutCount"] == 1
        responses = api["RequestResponses"]
        assert len(responses) == 7
        assert responses[1]["ErrorCode"] == "InvalidArgumentException"
        assert "exceeds" in responses[1]["ErrorMessage"]
        ids = [r["RecordId"] for i, r in enumerate(responses) if i != 1]
        assert len(set(ids)) == 6 and all(len(i) >= 32 for i in ids)
        # Buffered, not delivered yet: the interval is an hour and the size hint is far.
        assert lake_rows(lake) == []
    rows = lake_rows(lake)
    assert sorted(
        (r["id"], r["userid"], r["format"], r["timestamp"], r["dt"], r["hour"]) for r in rows
    ) == [
        ("e1", "u1", "video", dt.datetime(2026, 10, 5, 13, 45, 10), "dt=2026-10-05", "hour=13"),
        ("e2", "u2", "audio", dt.datetime(2026, 10, 7, 0, 0), "dt=2026-10-07", "hour=00"),
        ("e3", "u1", "video", dt.datetime(2026, 10, 5, 13, 10), "dt=2026-10-05", "hour=13"),
    ]
    assert all(r["ingested_at"] is not None for r in rows)
    assert set(
        pq.read_schema(
            glob.glob(os.path.join(lake.curated("usage_events"), "*", "*", "*.parquet"))[0]
        ).names
    ) == {"id", "userid", "format", "timestamp", "ingested_at"}
    errors = error_output(lake)
    assert sorted(e["lastErrorCode"] for e in errors) == [
        "DataFormatConversion.MalformedData",
        "DataFormatConversion.MalformedData",
        "DataFormatConversion.MissingField",
    ]
    assert sorted(base64.b64decode(e["rawData"]) for e in errors) == sorted(bad)
    missing = next(e for e in errors if e["lastErrorCode"].endswith("MissingField"))
    assert "userid" in missing["lastErrorMessage"]


@pytest.mark.parametrize(
    "payload, problem",
    [
        (record(id="e", userId="u", format="f", timestamp="yesterday"), "InvalidTimestamp"),
        (record(id="e", userId="u", format="f", timestamp=True), "InvalidTimestamp"),
        (
            record(id=5, userId="u", format="f", timestamp="2026-10-05T00:00:00Z"),
            "InvalidFieldType",
        ),
        (record(id="e", userId="u", format="f"), "MissingField"),
        (b"\xff\xfe", "MalformedData"),
    ],
)
def test_records_that_fail_conversion_go_to_the_error_output_with_a_reason(lake, payload, problem):
    with DeliveryStream(lake, hints=LONG) as stream:
        assert stream.put_record(payload).record_id
    assert lake_rows(lake) == []
    [error] = error_output(lake)
    assert error["lastErrorCode"] == f"DataFormatConversion.{problem}"
    assert base64.b64decode(error["rawData"]) == payload


def test_a_call_over_the_batch_limits_is_refused_whole(lake):
    with DeliveryStream(lake, hints=LONG) as stream:
        with pytest.raises(InvalidArgument, match="501 records"):
            stream.put_record_batch([GOOD[0]] * 501)
        five_mib = [record(id=str(i), pad="p" * 900_000) for i in range(5)]
        with pytest.raises(InvalidArgument, match="at most 4,194,304"):
            stream.put_record_batch(five_mib)
        with pytest.raises(InvalidArgument):
            stream.put_record_batch([])
    assert lake_rows(lake) == [] and error_output(lake) == []


def test_the_buffer_is_delivered_when_it_reaches_the_size_hint(lake):
    with DeliveryStream(
        lake, hints=BufferingHints(size_bytes=150, interval_seconds=3600)
    ) as stream:
        stream.put_record(GOOD[0])  # about 90 bytes: stays buffered
        assert lake_rows(lake) == []
        stream.put_record(GOOD[1])  # past 150 bytes: both delivered
        assert sorted(r["id"] for r in lake_rows(lake)) == ["e1", "e2"]


def test_the_buffer_is_delivered_after_the_interval(lake):
    with DeliveryStream(
        lake, hints=BufferingHints(size_bytes=10**9, interval_seconds=0.3)
    ) as stream:
        stream.put_record(GOOD[0])
        deadline = time.monotonic() + 10
        while not lake_rows(lake) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r["id"] for r in lake_rows(lake)] == ["e1"]


@pytest.fixture
def endpoint(lake):
    server = FirehoseServer(("127.0.0.1", 0), {"usage-events": DeliveryStream(lake, hints=LONG)})
    server.start()
    yield server
    server.stop()


def firehose_client(url: str):
    return boto3.client(
        "firehose",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )


def test_boto3_put_record_batch_against_the_local_endpoint(endpoint, lake):
    client = firehose_client(endpoint.url)
    oversized = b"x" * (MAX_RECORD_BYTES + 1)
    response = client.put_record_batch(
        DeliveryStreamName="usage-events",
        Records=[{"Data": GOOD[0]}, {"Data": oversized}, {"Data": b"{broken"}, {"Data": GOOD[1]}],
    )
    assert response["FailedPutCount"] == 1
    results = response["RequestResponses"]
    assert [("RecordId" in r, r.get("ErrorCode")) for r in results] == [
        (True, None),
        (False, "InvalidArgumentException"),
        (True, None),
        (True, None),
    ]
    single = client.put_record(DeliveryStreamName="usage-events", Record={"Data": GOOD[2]})
    assert single["RecordId"] and single["Encrypted"] is False
    assert client.list_delivery_streams()["DeliveryStreamNames"] == ["usage-events"]
    with pytest.raises(ClientError) as unknown:
        client.put_record(DeliveryStreamName="nope", Record={"Data": GOOD[0]})
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as too_many:
        client.put_record_batch(
            DeliveryStreamName="usage-events", Records=[{"Data": GOOD[0]}] * 501
        )
    assert too_many.value.response["Error"]["Code"] == "InvalidArgumentException"
    with pytest.raises(ClientError) as too_big:
        client.put_record(DeliveryStreamName="usage-events", Record={"Data": oversized})
    assert too_big.value.response["Error"]["Code"] == "InvalidArgumentException"

    endpoint.stop()  # a clean stop delivers the buffer
    assert sorted(r["id"] for r in lake_rows(lake)) == ["e1", "e2", "e3"]
    assert [base64.b64decode(e["rawData"]) for e in error_output(lake)] == [b"{broken"]


def test_a_record_that_is_not_base64_fails_alone(endpoint, lake):
    body = json.dumps(
        {
            "DeliveryStreamName": "usage-events",
            "Records": [{"Data": "!!not base64!!"}, {"Data": base64.b64encode(GOOD[0]).decode()}],
        }
    ).encode()
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        headers={
            "X-Amz-Target": "Firehose_20150804.PutRecordBatch",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    response = json.load(urllib.request.urlopen(request))
    assert response["FailedPutCount"] == 1
    assert response["RequestResponses"][0]["ErrorMessage"] == "Data is not valid base64"
    assert "RecordId" in response["RequestResponses"][1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_firehose_delivers_everything_on_sigterm(lake, settings):
    port = free_port()
    env = {**os.environ, "LAKE_ROOT": lake.root}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "serve",
            "firehose",
            "--port",
            str(port),
            "--buffer-seconds",
            "3600",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client = firehose_client(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                client.list_delivery_streams()
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        client.put_record_batch(
            DeliveryStreamName="usage-events", Records=[{"Data": d} for d in GOOD]
        )
        assert lake_rows(lake) == []  # still buffered
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "3 record(s) delivered" in stderr
    assert sorted(r["id"] for r in lake_rows(lake)) == ["e1", "e2", "e3"]


def test_ingest_events_reads_json_lines_from_stdin(lake):
    big = record(id="big", pad="p" * MAX_RECORD_BYTES)
    lines = b"\n".join([GOOD[0], b"", GOOD[1], b"not json", big, GOOD[2]]) + b"\n"
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "ingest", "events"],
        input=lines,
        env={**os.environ, "LAKE_ROOT": lake.root},
        capture_output=True,
    )
    stderr = " ".join(result.stderr.decode().split())  # unwrapped
    assert result.returncode == 0, stderr
    assert "5 record(s) read: 4 accepted" in stderr
    assert "3 delivered" in stderr and "1 failed conversion" in stderr and "1 refused" in stderr
    assert sorted(r["id"] for r in lake_rows(lake)) == ["e1", "e2", "e3"]
    [refused] = error_output(lake, "put-refused")
    assert base64.b64decode(refused["rawData"]) == big and refused["recordNumber"] == 4


def test_aws_firehose_transformation_gives_the_rows_and_partitions_of_local_delivery(lake):
    """The same records through the local stream and through the deployed stream's
    transformation Lambda (its handler, fed Firehose's event): the same rows (arrival time
    included) in the same partitions, and the same records refused. Firehose's own Parquet
    writing is not run here: its Hive JSON SerDe reads the Lambda's timestamps with
    java.sql.Timestamp.valueOf, whose format `yyyy-mm-dd hh:mm:ss.ffffff` is checked below."""
    from orchestration.aws.handlers import transform_usage_events

    arrival = dt.datetime(2026, 10, 7, 9, 30, 15, 250000)
    # An offset time: 2026-10-05T23:30:00-02:00 is 2026-10-06 01:30 UTC (the UTC day on both).
    late = record(id="e4", userId="u3", format="video", timestamp="2026-10-05T23:30:00-02:00")
    refused = [b"{not json", record(id="e9", format="video", timestamp="2026-10-05T01:00:00Z")]
    records = [*GOOD, late, *refused]
    with DeliveryStream(lake, hints=LONG, now=lambda: arrival) as stream:
        stream.put_record_batch(records)
    local = sorted(lake_rows(lake), key=lambda r: r["id"])

    epoch_ms = int(arrival.replace(tzinfo=dt.UTC).timestamp() * 1000)
    event = {
        "invocationId": "inv-1",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/usage-events",
        "region": "eu-west-1",
        "records": [
            {
                "recordId": f"r{i}",
                "approximateArrivalTimestamp": epoch_ms,
                "data": base64.b64encode(data).decode(),
            }
            for i, data in enumerate(records)
        ],
    }
    results = transform_usage_events(event)["records"]
    assert [r["recordId"] for r in results] == [f"r{i}" for i in range(len(records))]
    assert [r["result"] for r in results] == ["Ok"] * 4 + ["ProcessingFailed"] * 2
    # A refused record goes back unchanged: Firehose writes it to the error output prefix.
    assert results[4]["data"] == base64.b64encode(refused[0]).decode()

    def from_hive(value: str) -> dt.datetime:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}", value), value
        return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f")

    delivered = []
    for result in results[:4]:
        row = json.loads(base64.b64decode(result["data"]))
        keys = result["metadata"]["partitionKeys"]
        row.update(
            timestamp=from_hive(row["timestamp"]),
            ingested_at=from_hive(row["ingested_at"]),
            dt=f"dt={keys['dt']}",
            hour=f"hour={keys['hour']}",
        )
        delivered.append(row)
    assert sorted(delivered, key=lambda r: r["id"]) == local
    # Worked by hand: e2's epoch ms is 2026-10-07 00:00 UTC, e3's +02:00 is 13:10 UTC, e4's -02:00
    # is the next UTC day.
    partitions = {r["id"]: (r["dt"], r["hour"]) for r in local}
    assert partitions == {
        "e1": ("dt=2026-10-05", "hour=13"),
        "e2": ("dt=2026-10-07", "hour=00"),
        "e3": ("dt=2026-10-05", "hour=13"),
        "e4": ("dt=2026-10-06", "hour=01"),
    }
    assert {r["ingested_at"] for r in local} == {arrival}
    assert len(error_output(lake)) == 2


def test_the_transformation_lambda_refuses_an_event_without_records():
    from orchestration.aws.events import InvalidEvent
    from orchestration.aws.handlers import transform_usage_events

    with pytest.raises(InvalidEvent, match="list of records"):
        transform_usage_events({"invocationId": "x"})
