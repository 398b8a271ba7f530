"""The S3 Object Created → Batch load path: the Lambda handler against moto's Batch."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from orchestration.aws.handlers import InvalidEvent, on_object_created

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGION = "eu-west-1"


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def batch(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws(config={"batch": {"use_docker": False}}):
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(
            RoleName="batch-service",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        client = boto3.client("batch", region_name=REGION)
        env = client.create_compute_environment(
            computeEnvironmentName="loads", type="UNMANAGED", serviceRole=role
        )["computeEnvironmentArn"]
        queue = client.create_job_queue(
            jobQueueName="warehouse-loads",
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env}],
        )["jobQueueArn"]
        client.register_job_definition(
            jobDefinitionName="warehouse-load",
            type="container",
            containerProperties={
                "image": "analytics:latest",
                "command": ["analytics", "load", "Ref::uri"],
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"},
                    {"type": "MEMORY", "value": "2048"},
                ],
            },
        )
        monkeypatch.setenv("BATCH_JOB_QUEUE", queue)
        monkeypatch.setenv("BATCH_JOB_DEFINITION", "warehouse-load")
        monkeypatch.setenv("LAKE_BUCKET", "analytics-lake")
        yield client


def submitted(client) -> list[dict]:
    jobs = []
    for status in (
        "SUBMITTED",
        "PENDING",
        "RUNNABLE",
        "STARTING",
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
    ):
        jobs += client.list_jobs(jobQueue="warehouse-loads", jobStatus=status)["jobSummaryList"]
    return jobs


def test_valid_event_submits_exactly_one_load_job_with_the_object_uri(batch):
    result = on_object_created(event("s3_object_created_customers.json"), None)
    uri = "s3://analytics-lake/incoming/customers/customers_2026-01-02.csv"
    assert result["uri"] == uri
    jobs = submitted(batch)
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
def test_invalid_event_submits_nothing_and_says_why(batch, name, message):
    with pytest.raises(InvalidEvent, match=message):
        on_object_created(event(name), None)
    assert submitted(batch) == []


def test_malformed_event_is_refused(batch):
    with pytest.raises(InvalidEvent, match="lacks bucket.name or object.key"):
        on_object_created({"source": "aws.s3", "detail-type": "Object Created", "detail": {}})
    assert submitted(batch) == []
