"""The synthesized template passes cfn-lint (the CloudFormation resource schemas) and deploys into
an emulated account (moto), whose rules, targets, job definitions and functions are then read
back with boto3. moto skips Glue, Athena and Firehose resources: test_stack.py covers them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from orchestration.pipelines import PIPELINES
from tests.emulated import IMAGE_TAG, SERVERLESS_APPLICATION, deploy_stack

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's account


def test_cfn_lint_finds_no_error(synthesized):
    lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(lint), "--format", "parseable", str(synthesized.template_path)],
        capture_output=True,
        text=True,
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line.split(" ")[0]]
    # Exit status is a bit mask: 2 = errors, 4 = warnings, 8 = informational; 1 = lint crashed.
    assert result.returncode & 3 == 0, result.stdout + result.stderr
    assert errors == []


@pytest.fixture(scope="module")
def deployed(synthesized):
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            patch.setenv(key, value)
        with mock_aws(config={"batch": {"use_docker": False}}):
            # The secrets exist before the first deploy, which is given their ARNs.
            deploy_stack(
                synthesized.template_path,
                synthesized.outdir,
                lambda service: boto3.client(service, region_name=REGION),
                {
                    "PiiSaltSecretArn": ("analytics/pii-salt", "x"),
                    "WarehouseUrlSecretArn": ("analytics/warehouse-url", "x"),
                },
            )
            cloudformation = boto3.client("cloudformation", region_name=REGION)
            yield cloudformation


def test_stack_deploys(deployed):
    [stack] = deployed.describe_stacks(StackName="Analytics")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    buckets = {b["Name"] for b in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]}
    assert {outputs["LakeBucket"], outputs["CodeBucket"], outputs["AthenaResultsBucket"]} <= buckets


def test_deployed_rules_target_the_deployed_handlers(deployed):
    events = boto3.client("events", region_name=REGION)
    functions = {
        f["FunctionName"]: f
        for f in boto3.client("lambda", region_name=REGION).list_functions()["Functions"]
    }
    assert set(functions) == {
        "analytics-start-workflow",
        "analytics-launch-emr",
        "analytics-on-object-created",
        "analytics-render-usage-report",
        "analytics-submit-batch-jobs",
        "analytics-transform-usage-events",
    }
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    expected_handler = {
        "analytics-ace-daily": "analytics-start-workflow",
        "analytics-ace-monthly": "analytics-start-workflow",
        "analytics-listings-weekly": "analytics-launch-emr",
        "analytics-warehouse-load": "analytics-on-object-created",
        "analytics-usage-daily": "analytics-start-workflow",
        "analytics-social-daily": "analytics-start-workflow",
    }
    [report] = events.list_targets_by_rule(Rule="analytics-usage-monthly-report")["Targets"]
    assert report["Arn"] == functions["analytics-start-workflow"]["FunctionArn"]
    assert rules["analytics-usage-monthly-report"]["ScheduleExpression"] == "cron(0 8 1 * ? *)"
    for rule, function in expected_handler.items():
        pipeline = PIPELINES[rule.removeprefix("analytics-").replace("-", "_")]
        assert rules[rule].get("ScheduleExpression") == pipeline.schedule
        [target] = events.list_targets_by_rule(Rule=rule)["Targets"]
        assert target["Arn"] == functions[function]["FunctionArn"]
        assert target["Arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    # The scheduled input names this account's state machine, its placeholders filled in.
    [daily] = events.list_targets_by_rule(Rule="analytics-ace-daily")["Targets"]
    payload = daily["InputTransformer"]["InputTemplate"]
    assert f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:analytics-ace-daily" in payload
    assert "${" not in payload


def test_deployed_job_definitions_queue_and_state_machines(deployed):
    batch = boto3.client("batch", region_name=REGION)
    definitions = {
        d["jobDefinitionName"]: d for d in batch.describe_job_definitions()["jobDefinitions"]
    }
    expected = {
        f"analytics-{p.name}-{t.name}".replace("_", "-")
        for p in PIPELINES.values()
        if p.platform == "batch"
        for t in p.for_aws().tasks
    }
    assert set(definitions) == expected
    load = definitions["analytics-warehouse-load-load"]["containerProperties"]
    # The image pushed to the stack's repository, at the deployed tag.
    assert load["image"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/analytics:{IMAGE_TAG}"
    # Secrets by their full ARN, as ECS needs them.
    salt = [s["valueFrom"] for s in load["secrets"] if s["name"] == "PII_SALT"]
    assert salt[0].startswith(
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:analytics/pii-salt-"
    )
    assert load["command"][-3:] == ["Ref::uri", "--task", "load"]
    lake = [e["value"] for e in load["environment"] if e["name"] == "LAKE_ROOT"]
    assert lake[0].startswith("s3://") and "${" not in lake[0]
    [queue] = batch.describe_job_queues()["jobQueues"]
    assert queue["jobQueueName"] == "analytics-jobs"
    machines = boto3.client("stepfunctions", region_name=REGION).list_state_machines()
    assert {m["name"] for m in machines["stateMachines"]} == {
        "analytics-ace-daily",
        "analytics-ace-monthly",
        "analytics-listings-weekly",
        "analytics-social-daily",
        "analytics-usage-daily",
        "analytics-usage-monthly-report",
    }


def test_the_spark_application_runs_the_production_release(deployed, synthesized):
    [application] = boto3.client("emr-serverless", region_name=REGION).list_applications()[
        "applications"
    ]
    assert application["name"] == "analytics-spark"
    template = json.loads(synthesized.template_path.read_text())
    [resource] = [r for r in template["Resources"].values() if r["Type"] == SERVERLESS_APPLICATION]
    assert resource["Properties"]["ReleaseLabel"] == "emr-spark-8.1.0"
    assert resource["Properties"]["AutoStartConfiguration"]["Enabled"] is True
    assert resource["Properties"]["AutoStopConfiguration"]["Enabled"] is True
    assert resource["Properties"]["MaximumCapacity"]["Cpu"] == "64 vCPU"
    # The Spark pipelines' state machines start job runs on it, as the Spark job role (the
    # deployed definitions keep their placeholders: moto applies no DefinitionSubstitutions).
    [application_id] = [k for k, r in template["Resources"].items() if r is resource]
    machines = {
        r["Properties"]["StateMachineName"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
    }
    for name in ("analytics-ace-daily", "analytics-social-daily"):
        assert "emr-serverless:startJobRun.sync" in machines[name]["DefinitionString"]
        substitutions = machines[name]["DefinitionSubstitutions"]
        assert substitutions["SparkApplication"] == {
            "Fn::GetAtt": [application_id, "ApplicationId"]
        }
        assert substitutions["SparkJobRole"]["Fn::GetAtt"][1] == "Arn"
