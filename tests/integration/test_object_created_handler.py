"""The S3 Object Created → Batch load path: the Lambda handler against moto's Batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.aws.events import InvalidEvent
from orchestration.aws.handlers import on_object_created

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGION = "eu-west-1"


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_valid_event_submits_exactly_one_load_job_with_the_object_uri(batch, queued_jobs):
    result = on_object_created(event("s3_object_created_customers.json"), None)
    uri = "s3://analytics-lake/incoming/customers/customers_2026-01-02.csv"
    assert result["uri"] == uri
    jobs = queued_jobs()
    assert [j["jobId"] for j in jobs] == [result["jobId"]]
    [described] = batch.describe_jobs(jobs=[result["jobId"]])["jobs"]
    assert described["parameters"] == {"uri": uri}
    assert described["jobName"] == "load-customers-customers_2026-01-02-csv"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("s3_object_created_unknown_table.json", "unknown table 'orders'"),
        ("s3_object_created_outside_incoming.json", "is not incoming/<table>/<file>"),
        ("s3_object_deleted.json", "not an S3 Object Created event"),
        ("s3_object_created_other_bucket.json", "this handler loads from 'analytics-lake'"),
    ],
)
def test_invalid_event_submits_nothing_and_says_why(batch, queued_jobs, name, message):
    with pytest.raises(InvalidEvent, match=message):
        on_object_created(event(name), None)
    assert queued_jobs() == []


def test_malformed_event_is_refused(batch, queued_jobs):
    with pytest.raises(InvalidEvent, match="lacks bucket.name or object.key"):
        on_object_created({"source": "aws.s3", "detail-type": "Object Created", "detail": {}})
    assert queued_jobs() == []
