"""Lambda handlers against moto: Batch submissions (shards, dependsOn), an ephemeral EMR
cluster, a Step Functions execution; every invalid sample event calls nothing."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from orchestration.aws.events import InvalidEvent
from orchestration.aws.handlers import (
    launch_emr,
    start_workflow,
    submit_batch_jobs,
)

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGION = "eu-west-1"


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_sharded_jobs_get_their_shard_and_the_dependent_waits_for_every_shard(batch, queued_jobs):
    result = submit_batch_jobs(event("batch_jobs_sharded.json"))
    names = [s["jobName"] for s in result["submitted"]]
    assert names == [
        "social-analytics-1",
        "social-analytics-2",
        "social-analytics-3",
        "social-documents",
    ]
    ids = {s["jobName"]: s["jobId"] for s in result["submitted"]}
    described = {j["jobName"]: j for j in batch.describe_jobs(jobs=list(ids.values()))["jobs"]}
    for shard in range(1, 4):
        env = {
            e["name"]: e["value"]
            for e in described[f"social-analytics-{shard}"]["container"]["environment"]
        }
        assert (env["CURRENT_SHARD"], env["NUM_SHARDS"], env["RUN_DATE"]) == (
            str(shard),
            "3",
            "2026-01-02",
        )
    depends = {d["jobId"] for d in described["social-documents"]["dependsOn"]}
    assert depends == {ids[f"social-analytics-{s}"] for s in range(1, 4)}
    assert len(queued_jobs()) == 4


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("batch_jobs_bad_dependency.json", "depends on \\['a'\\], which are not earlier jobs"),
        ("batch_jobs_malformed.json", "jobs.0.jobName: String should match pattern"),
    ],
)
def test_invalid_batch_event_submits_nothing(batch, queued_jobs, name, message):
    with pytest.raises(InvalidEvent, match=message):
        submit_batch_jobs(event(name))
    assert queued_jobs() == []


@pytest.fixture
def emr(monkeypatch):
    monkeypatch.setenv("CODE_BUCKET", "analytics-code")
    monkeypatch.setenv("LAKE_BUCKET", "analytics-lake")
    monkeypatch.setenv("PII_SALT_SECRET_ID", "analytics/pii-salt")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("EMR_SERVICE_ROLE", "EMR_DefaultRole")
    monkeypatch.setenv("EMR_JOB_FLOW_ROLE", "EMR_EC2_DefaultRole")
    with mock_aws():
        yield boto3.client("emr", region_name=REGION)


def test_launch_emr_runs_an_ephemeral_cluster_whose_steps_spark_submit_project_jobs(emr):
    sent: list[dict] = []  # what boto3 sent (moto keeps no auto-termination policy to read back)
    emr.meta.events.register(
        "provide-client-params.emr.RunJobFlow", lambda params, **_: sent.append(dict(params))
    )
    result = launch_emr(event("emr_launch.json"), emr_client=emr)
    cluster = emr.describe_cluster(ClusterId=result["clusterId"])["Cluster"]
    assert cluster["ReleaseLabel"] == "emr-spark-8.1.0"
    assert cluster["AutoTerminate"] is True  # KeepJobFlowAliveWhenNoSteps=false
    # The EMR v2 managed policies act only on clusters with this tag.
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in cluster["Tags"]
    assert sent[0]["AutoTerminationPolicy"] == {"IdleTimeout": 1800}
    assert sent[0]["Instances"]["KeepJobFlowAliveWhenNoSteps"] is False
    assert [g["InstanceCount"] for g in sent[0]["Instances"]["InstanceGroups"]] == [1, 3]
    [step] = emr.list_steps(ClusterId=result["clusterId"])["Steps"]
    assert step["ActionOnFailure"] == "TERMINATE_CLUSTER"
    code = "s3://analytics-code/analytics"
    python = "./environment/bin/python"
    # The packed environment is every process's Python; the settings reach the driver (YARN's
    # application master) and the executors, the salt's secret the driver only.
    assert step["Config"]["Args"] == [
        "spark-submit", "--deploy-mode", "cluster",
        "--conf", f"spark.archives={code}/spark_venv.tar.gz#environment",
        "--conf", f"spark.submit.pyFiles={code}/analytics.zip",
        "--conf", f"spark.jars={code}/analytics-functions.jar",
        "--conf", f"spark.yarn.appMasterEnv.PYSPARK_PYTHON={python}",
        "--conf", f"spark.yarn.appMasterEnv.PYSPARK_DRIVER_PYTHON={python}",
        "--conf", f"spark.executorEnv.PYSPARK_PYTHON={python}",
        "--conf", "spark.executor.cores=2",
        "--conf", "spark.executor.memory=7g",
        "--conf", "spark.driver.cores=2",
        "--conf", "spark.driver.memory=7g",
        "--conf", f"spark.yarn.appMasterEnv.AWS_REGION={REGION}",
        "--conf", f"spark.executorEnv.AWS_REGION={REGION}",
        "--conf", "spark.yarn.appMasterEnv.LAKE_ROOT=s3://analytics-lake",
        "--conf", "spark.executorEnv.LAKE_ROOT=s3://analytics-lake",
        "--conf", "spark.yarn.appMasterEnv.PII_SALT_SECRET_ID=analytics/pii-salt",
        f"{code}/jobs/notification_attempted.py",
        "--date", "2026-01-05",
    ]  # fmt: skip


def test_launch_emr_refuses_an_unknown_job_and_starts_nothing(emr):
    with pytest.raises(InvalidEvent, match="unknown Spark job\\(s\\) \\['rm_rf'\\]"):
        launch_emr(event("emr_launch_unknown_job.json"))
    assert emr.list_clusters()["Clusters"] == []


@pytest.fixture
def sfn(monkeypatch):
    with mock_aws():
        client = boto3.client("stepfunctions", region_name=REGION)
        arn = client.create_state_machine(
            name="usage-report",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        yield client, arn


def test_start_workflow_passes_the_payload_once(sfn):
    client, arn = sfn
    payload = event("workflow_usage_report.json")
    result = start_workflow(payload)
    described = client.describe_execution(executionArn=result["executionArn"])
    assert json.loads(described["input"]) == payload
    # The same payload again names the same execution: Step Functions starts no second one.
    assert start_workflow(payload)["executionArn"] == result["executionArn"]
    assert len(client.list_executions(stateMachineArn=arn)["executions"]) == 1


@pytest.mark.parametrize("bad", [[], {}, "2026-10-01"])
def test_start_workflow_refuses_a_payload_that_is_not_an_object(sfn, bad):
    client, arn = sfn
    with pytest.raises(InvalidEvent, match="non-empty JSON object"):
        start_workflow(bad)
    assert client.list_executions(stateMachineArn=arn)["executions"] == []


def test_social_daily_as_the_original_per_shard_batch_jobs(batch, queued_jobs):
    """The pipeline's declaration → the submit_batch_jobs event → one Batch job per shard with
    CURRENT_SHARD/NUM_SHARDS; each shard's container then runs only its shard."""
    from orchestration.aws.render import Naming, batch_jobs_event, job_definition
    from orchestration.core.settings import Settings
    from orchestration.core.shards import Shard
    from orchestration.pipelines import SOCIAL_DAILY

    queue = batch.describe_job_queues(jobQueues=["warehouse-loads"])["jobQueues"][0]
    naming = Naming()
    for task in SOCIAL_DAILY.tasks:
        definition = job_definition(SOCIAL_DAILY, task, naming)
        definition["containerProperties"].pop("secrets")
        definition["containerProperties"]["environment"] = [
            e for e in definition["containerProperties"]["environment"] if "$" not in e["value"]
        ]
        definition["containerProperties"]["image"] = "analytics:latest"
        batch.register_job_definition(**definition)
    job_event = batch_jobs_event(SOCIAL_DAILY, {"date": "2026-11-03"}, naming)
    for job in job_event["jobs"]:
        job["jobQueue"] = queue["jobQueueArn"]
    result = submit_batch_jobs(job_event)
    names = [s["jobName"] for s in result["submitted"]]
    prefix = "analytics-social-daily-"
    assert names == [
        prefix + "social-curation-daily",
        prefix + "social-analytics-1",
        prefix + "social-analytics-2",
        prefix + "dbt-build-social",
    ]
    ids = {s["jobName"]: s["jobId"] for s in result["submitted"]}
    described = {j["jobName"]: j for j in batch.describe_jobs(jobs=list(ids.values()))["jobs"]}
    shards = [prefix + "social-analytics-1", prefix + "social-analytics-2"]
    for name in shards:
        assert {d["jobId"] for d in described[name]["dependsOn"]} == {
            ids[prefix + "social-curation-daily"]
        }
    assert {d["jobId"] for d in described[prefix + "dbt-build-social"]["dependsOn"]} == {
        ids[n] for n in shards
    }
    assert described[shards[1]]["parameters"] == {"date": "2026-11-03"}
    env = {e["name"]: e["value"] for e in described[shards[1]]["container"]["environment"]}
    assert (env["CURRENT_SHARD"], env["NUM_SHARDS"]) == ("2", "2")
    # Inside that container: `analytics run social_daily --task social_analytics` runs shard 2.
    settings = Settings(CURRENT_SHARD=env["CURRENT_SHARD"], NUM_SHARDS=env["NUM_SHARDS"])
    one = SOCIAL_DAILY.only("social_analytics").sharded(settings.num_shards, settings.shard)
    assert [t.shard for t in one.tasks] == [Shard(2, 2)]
    assert len(queued_jobs()) == 4
