"""The monthly usage workflow on AWS: the Step Functions definition rendered from the declaration,
executed by moto's Step Functions (Athena through the aws-sdk integration, the render Lambda, SNS
into an SQS subscriber), and the render Lambda handler against moto's S3."""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.moto_api import state_manager

from orchestration.aws.events import InvalidEvent
from orchestration.aws.handlers import render_usage_report
from orchestration.aws.render import Naming, states_format, workflow_state_machine
from orchestration.workflows import USAGE_MONTHLY_REPORT, Backoff

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGION = "eu-west-1"
SUBSTITUTIONS = {
    "${Region}": REGION,
    "${AccountId}": "123456789012",
    "${LakeBucket}": "analytics-lake",
    "${AthenaResultsBucket}": "analytics-athena-results",
    "${AthenaWorkGroup}": "analytics",
    "${ModelsDatabase}": "analytics",
}
RESULT_CSV = (
    "event_date,format,views,unique_users\n"
    ",video,4,2\n"
    ",audio,1,1\n"
    "2026-10-01,video,3,2\n"
    "2026-10-02,audio,1,1\n"
    "2026-10-03,video,1,1\n"
)


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        yield
    state_manager.unset_transition("athena::execution")


class Deployment:
    """The workflow as the stack deploys it: state machine, render Lambda, reports topic (with an
    SQS subscriber standing in for the e-mail recipients), Athena workgroup."""

    def __init__(self, workflow=USAGE_MONTHLY_REPORT) -> None:
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="states", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.athena = boto3.client("athena", region_name=REGION)
        self.athena.create_work_group(Name="analytics")
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="analytics-reports")["TopicArn"]
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue = self.sqs.create_queue(QueueName="recipients")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=Naming().of(workflow.render),
            Runtime="python3.11",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": archive.getvalue()},
        )
        text = json.dumps(workflow_state_machine(workflow, Naming()))
        for placeholder, value in {**SUBSTITUTIONS, "${ReportsTopic}": topic}.items():
            text = text.replace(placeholder, value)
        assert "${" not in text, "an unknown substitution is left"
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.arn = self.sfn.create_state_machine(
            name=Naming().of(workflow.name), definition=text, roleArn=role
        )["stateMachineArn"]

    def start(self, payload: object) -> str:
        return self.sfn.start_execution(stateMachineArn=self.arn, input=json.dumps(payload))[
            "executionArn"
        ]

    def wait(self, execution: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                return described
            time.sleep(0.2)

    def history(self, execution: str) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=execution)["events"]

    def states_entered(self, execution: str) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution)
            if "stateEnteredEventDetails" in e
        ]

    def queries(self) -> list[dict]:
        ids = self.athena.list_query_executions()["QueryExecutionIds"]
        return [self.athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]

    def messages(self) -> list[dict]:
        received = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in received.get("Messages", [])]


def test_the_rendered_workflow_runs_end_to_end_in_step_functions(aws):
    deployment = Deployment()
    payload = json.loads((EVENTS / "workflow_usage_report.json").read_text())
    execution = deployment.start(payload)
    assert deployment.wait(execution)["status"] == "SUCCEEDED"
    assert deployment.states_entered(execution) == [
        "check_payload", "query_parameters", "start_query", "wait_for_query", "poll_query",
        "query_finished", "render_report", "notify", "succeeded",
    ]  # fmt: skip
    [query] = deployment.queries()
    assert query["Query"] == USAGE_MONTHLY_REPORT.sql
    assert query["ExecutionParameters"] == ["'2026-10-01'", "'2026-10-31'"]
    assert query["QueryExecutionContext"] == {"Database": "analytics"}
    assert query["WorkGroup"] == "analytics"
    result = query["ResultConfiguration"]["OutputLocation"]
    assert result.startswith("s3://analytics-athena-results/usage/")
    [scheduled] = [
        json.loads(e["taskScheduledEventDetails"]["parameters"])
        for e in deployment.history(execution)
        if e.get("taskScheduledEventDetails", {}).get("resource") == "invoke"
    ]
    assert scheduled["Payload"] == {**payload, "resultLocation": result}
    [message] = deployment.messages()
    assert message["Subject"] == "Usage report 2026-10-01 to 2026-10-31"
    assert message["Message"] == (
        "The usage report for 2026-10-01 to 2026-10-31 is ready: "
        "s3://analytics-lake/exports/usage/2026-10-01_2026-10-31/report.html "
        "(daily_views.csv and format_totals.csv are in the same folder)."
    )


def test_polling_backs_off_doubling_up_to_the_cap_then_times_out(aws):
    # The query never leaves QUEUED: moto advances it only after 1000 polls.
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 1000})
    poll = Backoff(first_seconds=1, max_seconds=2, max_attempts=4)
    deployment = Deployment(replace(USAGE_MONTHLY_REPORT, poll=poll))
    execution = deployment.start({"startDate": "2026-10-01", "endDate": "2026-10-31"})
    described = deployment.wait(execution)
    assert described["status"] == "FAILED"
    assert described["error"] == "usage_monthly_report.QueryTimedOut"
    waits = [
        json.loads(e["stateEnteredEventDetails"]["input"])["query"]["wait"]
        for e in deployment.history(execution)
        if e.get("stateEnteredEventDetails", {}).get("name") == "wait_for_query"
    ]
    assert waits == [1, 2, 2, 2]  # = Backoff(1, 2, 4).waits(), as the local runner waits
    assert waits == poll.waits()
    assert deployment.messages() == []


def test_a_cancelled_query_fails_the_execution(aws):
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 1000})
    deployment = Deployment(replace(USAGE_MONTHLY_REPORT, poll=Backoff(1, 1, 60)))
    execution = deployment.start({"startDate": "2026-10-01", "endDate": "2026-10-31"})
    deadline = time.monotonic() + 30
    while not deployment.queries() and time.monotonic() < deadline:
        time.sleep(0.1)
    [query] = deployment.queries()
    deployment.athena.stop_query_execution(QueryExecutionId=query["QueryExecutionId"])
    described = deployment.wait(execution)
    assert described["status"] == "FAILED"
    assert described["error"] == "usage_monthly_report.QueryFailed"
    assert "render_report" not in deployment.states_entered(execution)


@pytest.mark.parametrize(
    "payload",
    [
        {"startDate": "2026-10-31", "endDate": "2026-10-01"},
        {"startDate": "2026-10-01"},
        {"startDate": 20261001, "endDate": 20261031},
        {"startDate": "2026-10-01' or '1'='1", "endDate": "2026-10-31"},
    ],
)
def test_a_bad_payload_fails_before_any_query(aws, payload):
    deployment = Deployment()
    described = deployment.wait(deployment.start(payload))
    assert described["status"] == "FAILED"
    assert described["error"] == "usage_monthly_report.InvalidPayload"
    assert deployment.queries() == []


def test_states_format_keeps_deploy_time_placeholders():
    paths = {"startDate": "$.startDate", "endDate": "$.endDate"}
    assert states_format("s3://${LakeBucket}/{startDate}_{endDate}", paths) == (
        "States.Format('s3://${LakeBucket}/{}_{}', $.startDate, $.endDate)"
    )


def test_render_lambda_writes_the_report_next_to_the_lake(aws, monkeypatch):
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in ("analytics-lake", "analytics-athena-results"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="analytics-athena-results", Key="usage/q-1.csv", Body=RESULT_CSV)
    monkeypatch.setenv("LAKE_BUCKET", "analytics-lake")
    event = {
        "startDate": "2026-10-01",
        "endDate": "2026-10-03",
        "resultLocation": "s3://analytics-athena-results/usage/q-1.csv",
    }
    returned = render_usage_report(event, s3_client=s3)
    prefix = "exports/usage/2026-10-01_2026-10-03"
    assert returned["report"] == f"s3://analytics-lake/{prefix}/report.html"
    listed = s3.list_objects_v2(Bucket="analytics-lake", Prefix=prefix)["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        f"{prefix}/daily_views.csv", f"{prefix}/format_totals.csv", f"{prefix}/report.html"
    ]  # fmt: skip
    totals = s3.get_object(Bucket="analytics-lake", Key=f"{prefix}/format_totals.csv")
    assert totals["Body"].read().decode() == "format,views,unique_users\nvideo,4,2\naudio,1,1\n"
    daily = s3.get_object(Bucket="analytics-lake", Key=f"{prefix}/daily_views.csv")
    assert daily["Body"].read().decode().splitlines()[1:3] == [
        "2026-10-01,audio,0,0",
        "2026-10-01,video,3,2",
    ]
    page = s3.head_object(Bucket="analytics-lake", Key=f"{prefix}/report.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    with pytest.raises(InvalidEvent, match="resultLocation"):
        render_usage_report({**event, "resultLocation": "/tmp/x.csv"}, s3_client=s3)
