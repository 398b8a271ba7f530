"""The AWS artefacts generated from the pipeline declarations (`analytics aws render`): Batch job
definitions, Step Functions state machines, EventBridge rules and EMR steps, accepted by the AWS
APIs (moto) and wired to the Lambda handlers that receive their events."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from orchestration import tasks
from orchestration.aws.events import InvalidEvent, scheduled_value
from orchestration.aws.handlers import launch_emr, start_workflow
from orchestration.aws.render import render, render_all
from orchestration.cli import cli
from orchestration.pipelines import PIPELINES, Pipeline, Task

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
SUBSTITUTIONS = {
    "${Region}": REGION,
    "${AccountId}": ACCOUNT,
    "${LakeBucket}": "analytics-lake",
    "${CodeBucket}": "analytics-code",
    "${LogBucket}": "analytics-logs",
    "${EmrServiceRole}": "EMR_DefaultRole",
    "${EmrJobFlowRole}": "EMR_EC2_DefaultRole",
    "${PiiSaltSecret}": "analytics/pii-salt",
    "${WarehouseUrlSecret}": "analytics/warehouse-url",
    "${SparkApplication}": "00fabc123def4567",
    "${SparkJobRole}": f"arn:aws:iam::{ACCOUNT}:role/spark-jobs",
    "${ImageRepository}": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/analytics",
    "${ImageTag}": "0123abcd",
    "${AthenaResultsBucket}": "analytics-athena-results",
    "${AthenaWorkGroup}": "analytics",
    "${ModelsDatabase}": "analytics",
    "${LakeDatabase}": "lake",
    "${ReportsTopic}": f"arn:aws:sns:{REGION}:{ACCOUNT}:analytics-reports",
}


def deployed(document):
    """What CloudFormation's Fn::Sub would make of a rendered document."""
    text = json.dumps(document)
    for placeholder, value in SUBSTITUTIONS.items():
        text = text.replace(placeholder, value)
    assert "${" not in text, "an unknown substitution is left"
    return json.loads(text)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def state_chain(definition: dict) -> list[list[str]]:
    """The task names of a Batch state machine, level by level, following Next from StartAt."""
    states, name, levels = definition["States"], definition["StartAt"], []
    while states[name]["Type"] in ("Task", "Parallel"):
        state = states[name]
        if state["Type"] == "Parallel":
            levels.append(sorted(b["StartAt"] for b in state["Branches"]))
        else:
            levels.append([name])
        name = state["Next"]
    assert states[name]["Type"] == "Succeed"
    return levels


def test_ace_daily_state_machine_runs_levels_in_dependency_order():
    definition = render(PIPELINES["ace_daily"])["state_machine"]["definition"]
    assert state_chain(definition) == [
        ["notification_attempted_daily", "notification_delivered_daily"],
        ["dim_customer_daily", "outcome_experience_lookup_daily"],
        ["dbt_build_ace"],
    ]
    # Glue partition projection serves on AWS: the local registration is not deployed.
    names = [
        d["jobDefinitionName"] for d in render(PIPELINES["ace_daily"])["batch_job_definitions"]
    ]
    assert "analytics-ace-daily-register-partitions" not in names


def _leaf_states(state: dict) -> list[dict]:
    """The Task states inside a state (itself, or those of its Parallel branches, nested)."""
    if state["Type"] == "Task":
        return [state]
    if state["Type"] == "Parallel":
        return [t for b in state["Branches"] for s in b["States"].values() for t in _leaf_states(s)]
    return []


def test_every_task_has_a_retry_a_catch_and_runs_where_its_kind_runs():
    """Spark tasks are EMR Serverless job runs (one per shard) of the bundle's entry point, the
    others AWS Batch jobs of their job definition."""
    for pipeline in PIPELINES.values():
        document = render(pipeline)
        if pipeline.platform != "batch":
            continue
        names = [d["jobDefinitionName"] for d in document["batch_job_definitions"]]
        deployed = [t for t in pipeline.tasks if not t.local_only]
        assert len(names) == len(deployed) == len(set(names))
        if "state_machine" not in document:
            assert pipeline.trigger is not None  # S3-triggered: one Batch job per object
            continue
        states = document["state_machine"]["definition"]["States"]
        submitted, job_runs = [], []
        for state in states.values():
            if state["Type"] in ("Task", "Parallel"):
                assert state["Catch"][0]["Next"] == "failed"
            for task_state in _leaf_states(state):
                assert task_state["Retry"]
                if task_state["Resource"] == "arn:aws:states:::batch:submitJob.sync":
                    submitted.append(task_state["Parameters"]["JobDefinition"])
                    continue
                assert task_state["Resource"] == "arn:aws:states:::emr-serverless:startJobRun.sync"
                driver = task_state["Parameters"]["JobDriver"]["SparkSubmit"]
                assert driver["EntryPoint"] == "s3://${CodeBucket}/analytics/jobs/run_task.py"
                job_runs.append(driver["EntryPointArguments.$"].split("'")[3])
        spark = [t for t in pipeline.tasks if t.kind == "spark"]
        others = [t for t in pipeline.tasks if t.kind != "spark" and not t.local_only]
        assert sorted(submitted) == sorted(f"analytics-{pipeline.name}-{t.name}".replace("_", "-")
                                           for t in others)  # fmt: skip
        assert sorted(job_runs) == sorted(t.name for t in spark for _ in range(t.shards))


def test_job_definitions_retry_host_failures_only_and_register_with_batch():
    definitions = render(PIPELINES["ace_daily"])["batch_job_definitions"]
    attempted = next(d for d in definitions if d["jobDefinitionName"].endswith("attempted-daily"))
    # The image's entry point is `analytics`: the command is its arguments.
    assert attempted["containerProperties"]["command"] == [
        "run", "ace_daily", "--date", "Ref::date", "--task", "notification_attempted_daily",
    ]  # fmt: skip
    assert attempted["platformCapabilities"] == ["FARGATE"]
    assert attempted["containerProperties"]["networkConfiguration"] == {"assignPublicIp": "ENABLED"}
    assert attempted["timeout"] == {"attemptDurationSeconds": 3600}
    environment = attempted["containerProperties"]["environment"]
    assert {"name": "AWS_REGION", "value": "${Region}"} in environment
    assert {"name": "AWS_DEFAULT_REGION", "value": "${Region}"} in environment
    on_exit = attempted["retryStrategy"]["evaluateOnExit"]
    assert on_exit[-1] == {"onReason": "*", "action": "EXIT"}
    assert all(rule["action"] == "RETRY" for rule in on_exit[:-1])
    with mock_aws(config={"batch": {"use_docker": False}}):
        batch = boto3.client("batch", region_name=REGION)
        for document in render_all().values():
            for definition in document.get("batch_job_definitions", []):
                batch.register_job_definition(**deployed(definition))
        registered = batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]
        expected = sum(len(p.for_aws().tasks) for p in PIPELINES.values() if p.platform == "batch")
        assert len(registered) == expected


def test_batch_command_is_one_the_local_cli_accepts():
    """The container command, run here with an unknown task, fails as a usage error naming the
    pipeline's tasks: the same CLI parses it on AWS and locally."""
    result = CliRunner().invoke(cli, ["run", "ace_daily", "--date", "2026-01-05", "--task", "nope"])
    assert result.exit_code == 2
    assert "ace_daily has no task 'nope'" in result.output
    assert "notification_attempted_daily" in result.output


def test_pipeline_reduced_to_one_task():
    only = PIPELINES["ace_daily"].only("dbt_build_ace")
    assert [t.name for t in only.tasks] == ["dbt_build_ace"]
    assert only.tasks[0].depends_on == ()
    assert only.name == "ace_daily.dbt_build_ace"


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="depends on unknown"):
        Pipeline("p", "d", "date", (Task("a", "python", tasks.load, depends_on=("b",)),))
    with pytest.raises(ValueError, match="EMR pipeline runs Spark tasks only"):
        Pipeline("p", "d", "date", (Task("a", "dbt", tasks.dbt_build_usage),), platform="emr")
    with pytest.raises(ValueError, match="schedule and schedule_offset"):
        Pipeline("p", "d", "date", (Task("a", "python", tasks.load),), schedule="cron(0 5 * * ? *)")


def test_state_machines_are_accepted_by_step_functions():
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        for document in render_all().values():
            if "state_machine" in document:
                machine = deployed(document["state_machine"])
                sfn.create_state_machine(
                    name=machine["name"],
                    definition=json.dumps(machine["definition"]),
                    roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
                )
        names = sorted(m["name"] for m in sfn.list_state_machines()["stateMachines"])
    assert names == [
        "analytics-ace-daily",
        "analytics-ace-monthly",
        "analytics-listings-weekly",
        "analytics-social-daily",
        "analytics-usage-daily",
    ]


def test_emr_state_machine_terminates_the_cluster_when_a_step_fails():
    definition = render(PIPELINES["listings_weekly"])["state_machine"]["definition"]
    states = definition["States"]
    step = states["listings_postprocessing"]
    assert step["Resource"] == "arn:aws:states:::elasticmapreduce:addStep.sync"
    assert step["Catch"][0]["Next"] == "terminate_cluster_after_failure"
    assert states["terminate_cluster_after_failure"]["Next"] == "failed"
    assert states["terminate_cluster_after_failure"]["Resource"].endswith("terminateCluster.sync")
    assert (
        step["Next"] == "terminate_cluster" and states["terminate_cluster"]["Next"] == "succeeded"
    )
    args = step["Parameters"]["Step"]["HadoopJarStep"]["Args.$"]
    assert args.startswith("States.Array('spark-submit'") and args.endswith(", $.date)")
    assert "/analytics/jobs/listings_postprocessing.py'" in args


def transformed(target: dict, time: str) -> dict:
    """What EventBridge sends the target when the rule fires at `time`."""
    template = target["InputTransformer"]["InputTemplate"]
    return json.loads(template.replace("<time>", time))


@pytest.mark.parametrize(
    ("time", "offset", "expected"),
    [
        ("2026-03-01T05:00:00+00:00", "yesterday", "2026-02-28"),
        ("2026-01-01T06:00:00+00:00", "previous_month", "2025-12"),
        ("2026-01-05T07:00:00+00:00", "today", "2026-01-05"),
        ("2026-01-05T07:00:00+00:00", "seven_days_ago", "2025-12-29"),
        ("2026-01-01T00:30:00+02:00", "yesterday", "2025-12-30"),  # 22:30 UTC the day before
    ],
)
def test_scheduled_value(time, offset, expected):
    assert scheduled_value(dt.datetime.fromisoformat(time), offset) == expected


def test_scheduled_daily_rule_starts_the_state_machine_for_yesterday():
    document = deployed(render(PIPELINES["ace_daily"]))
    rule = document["event_rule"]
    assert rule["ScheduleExpression"] == "cron(0 5 * * ? *)"
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        events.put_rule(**{k: rule[k] for k in ("Name", "ScheduleExpression", "State")})
        events.put_targets(Rule=rule["Name"], Targets=rule["Targets"])
        assert (
            events.list_targets_by_rule(Rule=rule["Name"])["Targets"][0]["Id"] == "start-workflow"
        )
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = document["state_machine"]
        arn = sfn.create_state_machine(
            name=machine["name"],
            definition=json.dumps(machine["definition"]),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )["stateMachineArn"]
        payload = transformed(rule["Targets"][0], "2026-02-03T05:00:00Z")
        assert payload["stateMachineArn"] == arn
        execution = start_workflow(payload)
        described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"pipeline": "ace_daily", "date": "2026-02-02"}


def test_scheduled_monthly_rule_asks_for_the_previous_month():
    rule = deployed(render(PIPELINES["ace_monthly"]))["event_rule"]
    payload = transformed(rule["Targets"][0], "2026-02-01T06:00:00Z")
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        sfn.create_state_machine(
            name="analytics-ace-monthly",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )
        execution = start_workflow(payload)
        described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"pipeline": "ace_monthly", "month": "2026-01"}


@pytest.mark.parametrize(
    ("fired", "start", "end"),
    [
        ("2026-12-01T08:00:00Z", "2026-11-01", "2026-11-30"),
        ("2028-03-01T08:00:00Z", "2028-02-01", "2028-02-29"),  # a leap year's February
        ("2027-01-01T08:00:00Z", "2026-12-01", "2026-12-31"),
    ],
)
def test_the_usage_report_rule_starts_the_report_of_the_previous_month(fired, start, end):
    """08:00 UTC on the 1st (seed 003): the workflow gets the whole previous calendar month."""
    from orchestration.aws.render import render_workflow
    from orchestration.workflows import WORKFLOWS

    rendered = deployed(render_workflow(WORKFLOWS["usage_monthly_report"]))
    rule = rendered["event_rule"]
    assert rule["ScheduleExpression"] == "cron(0 8 1 * ? *)"
    payload = transformed(rule["Targets"][0], fired)
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name=rendered["state_machine"]["name"],
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )["stateMachineArn"]
        assert payload["stateMachineArn"] == arn
        execution = start_workflow(payload)
        described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"startDate": start, "endDate": end}


def test_a_scheduled_range_is_only_the_previous_month():
    with pytest.raises(InvalidEvent, match="previous month"):
        start_workflow(
            {
                "stateMachineArn": "arn",
                "scheduledTime": "2026-12-01T08:00:00Z",
                "offset": "today",
                "param": "range",
            }
        )


@pytest.fixture
def emr_env(monkeypatch):
    """The launch_emr function's environment, as the stack sets it (the deployed values)."""
    for name, value in {
        "CODE_BUCKET": "analytics-code",
        "LAKE_BUCKET": "analytics-lake",
        "PII_SALT_SECRET_ID": "analytics/pii-salt",
        "AWS_REGION": REGION,
        "EMR_SERVICE_ROLE": "EMR_DefaultRole",
        "EMR_JOB_FLOW_ROLE": "EMR_EC2_DefaultRole",
        "EMR_LOG_URI": "s3://analytics-logs/emr/",
    }.items():
        monkeypatch.setenv(name, value)


def test_scheduled_emr_rule_launches_a_cluster_with_the_days_steps(emr_env):
    rule = deployed(render(PIPELINES["listings_weekly"]))["event_rule"]
    assert rule["ScheduleExpression"] == "cron(0 7 ? * MON *)"
    payload = transformed(rule["Targets"][0], "2026-01-05T07:00:00Z")
    with mock_aws():
        emr = boto3.client("emr", region_name=REGION)
        cluster = launch_emr(payload)["clusterId"]
        steps = emr.list_steps(ClusterId=cluster)["Steps"]
    assert [s["Name"] for s in steps] == ["listings_postprocessing"]
    assert steps[0]["Config"]["Args"][-2:] == ["--date", "2026-01-05"]


def test_the_lambda_and_the_state_machine_launch_the_same_cluster(emr_env):
    """One cluster specification: what launch_emr sends to RunJobFlow is what the listings state
    machine's createCluster.sync sends, but for the steps (added one by one there, so the
    cluster is kept alive until the terminate state) and the same step commands."""
    sent: list[dict] = []
    rule = deployed(render(PIPELINES["listings_weekly"]))["event_rule"]
    with mock_aws():
        emr = boto3.client("emr", region_name=REGION)
        emr.meta.events.register(
            "provide-client-params.emr.RunJobFlow", lambda params, **_: sent.append(dict(params))
        )
        launch_emr(transformed(rule["Targets"][0], "2026-01-05T07:00:00Z"), emr_client=emr)
    [lambda_request] = sent
    states = deployed(render(PIPELINES["listings_weekly"]))["state_machine"]["definition"]["States"]
    machine_request = states["create_cluster"]["Parameters"]
    lambda_steps = lambda_request.pop("Steps")
    assert lambda_request["Instances"].pop("KeepJobFlowAliveWhenNoSteps") is False
    assert machine_request["Instances"].pop("KeepJobFlowAliveWhenNoSteps") is True
    assert machine_request == lambda_request
    assert lambda_request["ReleaseLabel"] == "emr-spark-8.1.0"
    # The same spark-submit, the run's date appended by the state machine.
    step = states["listings_postprocessing"]["Parameters"]["Step"]["HadoopJarStep"]["Args.$"]
    quoted = ", ".join(f"'{a}'" for a in lambda_steps[0]["HadoopJarStep"]["Args"][:-1])
    assert step == f"States.Array({quoted}, $.date)"


def test_a_scheduled_event_with_a_bad_offset_starts_nothing(monkeypatch):
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:eu-west-1:123456789012:stateMachine:x")
    with pytest.raises(InvalidEvent, match="offset"):
        start_workflow(
            {"pipeline": "ace_daily", "scheduledTime": "2026-01-05T05:00:00Z", "offset": "later",
             "param": "date"}
        )  # fmt: skip


def test_s3_rule_matches_incoming_objects_of_the_lake_bucket_only():
    rule = deployed(render(PIPELINES["warehouse_load"]))["event_rule"]
    pattern = json.dumps(rule["EventPattern"])
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="matched")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        events.put_rule(Name=rule["Name"], EventPattern=pattern, State="ENABLED")
        # The rule's real target is the Lambda; a queue shows which events the pattern routes.
        events.put_targets(
            Rule=rule["Name"], Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}]
        )

        def matches(name: str) -> bool:
            event = json.loads((EVENTS / name).read_text())
            events.put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                        "Resources": event.get("resources", []),
                    }
                ]
            )
            received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", [])
            for message in received:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            return bool(received)

        assert matches("s3_object_created_customers.json")
        assert not matches("s3_object_created_other_bucket.json")
        assert not matches("s3_object_created_outside_incoming.json")
        assert not matches("s3_object_deleted.json")
    assert rule["Targets"][0]["Arn"].endswith(":function:analytics-on-object-created")


def test_render_cli_prints_every_pipeline_and_workflow_as_json():
    from orchestration.workflows import WORKFLOWS

    result = CliRunner().invoke(cli, ["aws", "render"])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.output)) == sorted([*PIPELINES, *WORKFLOWS])
    report = CliRunner().invoke(cli, ["aws", "render", "usage_monthly_report"])
    assert json.loads(report.output)["state_machine"]["name"] == "analytics-usage-monthly-report"
    one = CliRunner().invoke(cli, ["aws", "render", "listings_weekly"])
    assert (
        json.loads(one.output)["emr_launch_event"]["steps"][0]["job"] == "listings_postprocessing"
    )
    unknown = CliRunner().invoke(cli, ["aws", "render", "nope"])
    assert unknown.exit_code != 0 and "unknown pipeline 'nope'" in unknown.output


def test_a_sharded_batch_task_is_an_array_job_whose_children_know_their_shard(monkeypatch):
    from orchestration.aws.render import Naming, batch_state_machine, job_definition
    from orchestration.core.settings import Settings

    task = Task("stats", "python", tasks.load, shards=4)
    pipeline = Pipeline("social", "d", "date", (task,))
    state = batch_state_machine(pipeline, Naming())["States"]["stats"]
    assert state["Parameters"]["ArrayProperties"] == {"Size": 4}
    environment = job_definition(pipeline, task, Naming())["containerProperties"]["environment"]
    assert {"name": "NUM_SHARDS", "value": "4"} in environment
    monkeypatch.setenv("NUM_SHARDS", "4")
    monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", "3")  # 0-based: the fourth child
    assert (Settings().shard.current, Settings().shard.total) == (4, 4)
    monkeypatch.setenv("AWS_BATCH_JOB_ARRAY_INDEX", "4")
    with pytest.raises(ValueError, match="CURRENT_SHARD 5 does not exist"):
        Settings()


def test_a_sharded_spark_task_is_one_job_run_per_shard_in_parallel():
    from orchestration.aws.render import Naming, batch_state_machine

    task = Task("stats", "spark", tasks.social_analytics, shards=3)
    pipeline = Pipeline("social", "d", "date", (task,))
    state = batch_state_machine(pipeline, Naming())["States"]["stats"]
    assert state["Type"] == "Parallel" and state["Next"] == "succeeded"
    runs = [b["States"][b["StartAt"]] for b in state["Branches"]]
    assert [r["Parameters"]["Name"] for r in runs] == [
        "analytics-social-stats-1", "analytics-social-stats-2", "analytics-social-stats-3"
    ]  # fmt: skip
    for shard, run in enumerate(runs, start=1):
        parameters = run["Parameters"]["JobDriver"]["SparkSubmit"]["SparkSubmitParameters"]
        conf = parameters.split(" ")
        assert f"spark.emr-serverless.driverEnv.CURRENT_SHARD={shard}" in conf
        assert "spark.emr-serverless.driverEnv.NUM_SHARDS=3" in conf
        assert f"spark.executorEnv.CURRENT_SHARD={shard}" in conf
        assert run["End"] is True
