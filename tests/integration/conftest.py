"""Fixtures shared by the AWS-facing tests: moto's Batch with a queue and job definitions."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

REGION = "eu-west-1"


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
        for name in ("warehouse-load", "social-analytics"):
            client.register_job_definition(
                jobDefinitionName=name,
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


JOB_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


@pytest.fixture
def queued_jobs(batch):
    """Every job in the test queue, whatever its status."""

    def jobs(queue: str = "warehouse-loads") -> list[dict]:
        found = []
        for status in JOB_STATUSES:
            found += batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
        return found

    return jobs
