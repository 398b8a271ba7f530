"""Lambda handlers: thin adapters from an AWS event to one call of the platform (DESIGN §6)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from orchestration.errors import InputError
from orchestration.workflows import DateRange

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

# Batch job names: letters, digits, hyphens and underscores, at most 128 characters.
_JOB_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class InvalidEvent(InputError, ValueError):
    """An event the handler refuses: nothing is submitted, the message says why."""


M = TypeVar("M", bound=BaseModel)


def incoming_object(
    event: dict[str, Any], known_tables: set[str], bucket: str | None
) -> tuple[str, str]:
    """(table folder, s3:// URI) of an EventBridge S3 "Object Created" event for incoming/<table>/."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"event must be a JSON object, got {type(event).__name__}")
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        raise InvalidEvent(
            f"not an S3 Object Created event (source={event.get('source')!r}, "
            f"detail-type={event.get('detail-type')!r})"
        )
    detail = event.get("detail") or {}
    name = (detail.get("bucket") or {}).get("name")
    key = (detail.get("object") or {}).get("key")
    if not name or not key:
        raise InvalidEvent("event detail lacks bucket.name or object.key")
    if bucket and name != bucket:
        raise InvalidEvent(f"object is in bucket {name!r}, this handler loads from {bucket!r}")
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "incoming" or parts[2] in ("", ".", ".."):
        raise InvalidEvent(f"key {key!r} is not incoming/<table>/<file>")
    if parts[1] not in known_tables:
        raise InvalidEvent(
            f"key {key!r}: unknown table {parts[1]!r} (known: {', '.join(sorted(known_tables))})"
        )
    return parts[1], f"s3://{name}/{key}"


def load_job_name(table: str, key: str) -> str:
    return _JOB_NAME_UNSAFE.sub("-", f"load-{table}-{key.rsplit('/', 1)[-1]}")[:128]


def on_object_created(event: dict[str, Any], context: Any = None, batch_client: Any = None) -> dict:
    """S3 Object Created (via EventBridge) under incoming/<table>/ → one warehouse-load Batch job.

    Environment: BATCH_JOB_QUEUE, BATCH_JOB_DEFINITION, LAKE_BUCKET (optional: accept only it).
    The job definition's command is `analytics load Ref::uri`.
    """
    from ingestion.loader import TABLES

    env = _required_env("BATCH_JOB_QUEUE", "BATCH_JOB_DEFINITION")
    queue, definition = env["BATCH_JOB_QUEUE"], env["BATCH_JOB_DEFINITION"]
    try:
        table, uri = incoming_object(event, set(TABLES), os.environ.get("LAKE_BUCKET"))
    except InvalidEvent as err:
        log.error(json.dumps({"refused": str(err), "event_id": _event_id(event)}))
        raise
    if batch_client is None:
        import boto3

        batch_client = boto3.client("batch")
    submitted = batch_client.submit_job(
        jobName=load_job_name(table, uri),
        jobQueue=queue,
        jobDefinition=definition,
        parameters={"uri": uri},
    )
    log.info(json.dumps({"submitted": submitted["jobId"], "uri": uri}))
    return {"jobId": submitted["jobId"], "jobName": submitted["jobName"], "uri": uri}


def _event_id(event: Any) -> Any:
    return event.get("id") if isinstance(event, dict) else None


# --- submit_batch_jobs --------------------------------------------------------------------


class EnvVar(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    value: str


class ContainerOverrides(BaseModel):
    model_config = ConfigDict(extra="allow")
    environment: list[EnvVar] = []


class BatchJob(BaseModel):
    """One job of the original contract, plus `shards` (N submissions, CURRENT_SHARD=1..N of
    NUM_SHARDS=N, DESIGN §5.2)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    job_name: str = Field(alias="jobName", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$")
    job_definition: str = Field(alias="jobDefinition", min_length=1)
    job_queue: str = Field(alias="jobQueue", min_length=1)
    container_overrides: ContainerOverrides = Field(
        default_factory=ContainerOverrides, alias="containerOverrides"
    )
    depends_on: list[str] = Field(default=[], alias="dependsOn")
    shards: int = Field(default=1, ge=1, le=1000)
    parameters: dict[str, str] = {}


class BatchJobsEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jobs: list[BatchJob] = Field(min_length=1)

    @model_validator(mode="after")
    def _dependencies_point_backwards(self) -> BatchJobsEvent:
        seen: set[str] = set()
        for job in self.jobs:
            if job.job_name in seen:
                raise ValueError(f"job {job.job_name!r} appears twice")
            unknown = [d for d in job.depends_on if d not in seen]
            if unknown:
                raise ValueError(
                    f"job {job.job_name!r} depends on {unknown}, which are not earlier jobs"
                )
            seen.add(job.job_name)
        return self


def parse_event(model: type[M], event: Any) -> M:
    """Validate an event against its model, or raise InvalidEvent with every problem in one line."""
    try:
        return model.model_validate(event)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in err.errors()
        )
        raise InvalidEvent(f"invalid {model.__name__}: {problems}") from None


def batch_submissions(event: BatchJobsEvent) -> list[tuple[BatchJob, dict[str, Any]]]:
    """(job, SubmitJob request) per submission, shards expanded; `dependsOn` is left to the
    submitter, which knows the ids of the jobs submitted before."""
    requests = []
    for job in event.jobs:
        for shard in range(1, job.shards + 1):
            environment = [e.model_dump() for e in job.container_overrides.environment]
            name = job.job_name
            if job.shards > 1:
                environment += [
                    {"name": "CURRENT_SHARD", "value": str(shard)},
                    {"name": "NUM_SHARDS", "value": str(job.shards)},
                ]
                name = f"{job.job_name}-{shard}"
            request: dict[str, Any] = {
                "jobName": name,
                "jobDefinition": job.job_definition,
                "jobQueue": job.job_queue,
                "containerOverrides": {
                    **job.container_overrides.model_dump(),
                    "environment": environment,
                },
            }
            if job.parameters:
                request["parameters"] = dict(job.parameters)
            requests.append((job, request))
    return requests


def submit_batch_jobs(event: Any, context: Any = None, batch_client: Any = None) -> dict:
    """Submit the jobs of `{"jobs": [...]}` in order; a job waits for every shard of the jobs it
    depends on. Nothing is submitted if any part of the event is invalid."""
    requests = batch_submissions(parse_event(BatchJobsEvent, event))
    if batch_client is None:
        import boto3

        batch_client = boto3.client("batch")
    ids: dict[str, list[str]] = {}
    submitted = []
    for job, request in requests:
        depends = [{"jobId": i} for name in job.depends_on for i in ids[name]]
        response = batch_client.submit_job(**request, **({"dependsOn": depends} if depends else {}))
        ids.setdefault(job.job_name, []).append(response["jobId"])
        submitted.append({"jobName": response["jobName"], "jobId": response["jobId"]})
    log.info(json.dumps({"submitted": submitted}))
    return {"submitted": submitted}


# --- launch_emr ---------------------------------------------------------------------------


def spark_job_names() -> list[str]:
    """Every Spark job of the project: the top-level modules of `spark_jobs` (listed, not
    imported: a Lambda has no Spark)."""
    import pkgutil

    import spark_jobs

    return sorted(m.name for m in pkgutil.iter_modules(spark_jobs.__path__) if not m.ispkg)


class EmrStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job: str
    args: list[str] = []
    name: str | None = None


EMR_RELEASE = "emr-7.5.0"
EMR_IDLE_TIMEOUT_SECONDS = 3600


class EmrInstances(BaseModel):
    model_config = ConfigDict(extra="forbid")
    master_type: str = Field(default="m5.xlarge", alias="masterType")
    core_type: str = Field(default="m5.xlarge", alias="coreType")
    core_count: int = Field(default=2, ge=0, le=100, alias="coreCount")


class EmrLaunchEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=256)
    release_label: str = Field(
        default=EMR_RELEASE, alias="releaseLabel", pattern=r"^emr-\d+\.\d+\.\d+$"
    )
    steps: list[EmrStep] = Field(min_length=1)
    instances: EmrInstances = Field(default_factory=EmrInstances)
    idle_timeout_seconds: int = Field(
        default=EMR_IDLE_TIMEOUT_SECONDS, ge=60, le=604800, alias="idleTimeoutSeconds"
    )
    action_on_failure: Literal["TERMINATE_CLUSTER", "CANCEL_AND_WAIT", "CONTINUE"] = Field(
        default="TERMINATE_CLUSTER", alias="actionOnFailure"
    )


def emr_step(step: EmrStep, code_bucket: str, action_on_failure: str) -> dict[str, Any]:
    """A step that spark-submits one project job from the code bucket (code zip on the path)."""
    return {
        "Name": step.name or step.job,
        "ActionOnFailure": action_on_failure,
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": [
                "spark-submit",
                "--deploy-mode",
                "cluster",
                "--py-files",
                f"s3://{code_bucket}/analytics/analytics.zip",
                f"s3://{code_bucket}/analytics/jobs/{step.job}.py",
                *step.args,
            ],
        },
    }


def run_job_flow_request(event: EmrLaunchEvent, env: dict[str, str]) -> dict[str, Any]:
    code_bucket = env["CODE_BUCKET"]
    request: dict[str, Any] = {
        "Name": event.name,
        "ReleaseLabel": event.release_label,
        "Applications": [{"Name": "Spark"}],
        "Instances": {
            "InstanceGroups": [
                {
                    "Name": "primary",
                    "InstanceRole": "MASTER",
                    "InstanceType": event.instances.master_type,
                    "InstanceCount": 1,
                },
                *(
                    [
                        {
                            "Name": "core",
                            "InstanceRole": "CORE",
                            "InstanceType": event.instances.core_type,
                            "InstanceCount": event.instances.core_count,
                        }
                    ]
                    if event.instances.core_count
                    else []
                ),
            ],
            # Ephemeral: the cluster ends when its steps are done.
            "KeepJobFlowAliveWhenNoSteps": False,
            "TerminationProtected": False,
        },
        "Steps": [emr_step(s, code_bucket, event.action_on_failure) for s in event.steps],
        "AutoTerminationPolicy": {"IdleTimeout": event.idle_timeout_seconds},
        "ServiceRole": env["EMR_SERVICE_ROLE"],
        "JobFlowRole": env["EMR_JOB_FLOW_ROLE"],
        "VisibleToAllUsers": True,
        "Tags": [{"Key": "project", "Value": "analytics"}],
    }
    if env.get("EMR_LOG_URI"):
        request["LogUri"] = env["EMR_LOG_URI"]
    return request


def launch_emr(event: Any, context: Any = None, emr_client: Any = None) -> dict:
    """RunJobFlow for an ephemeral cluster whose steps spark-submit project jobs.

    Environment: CODE_BUCKET, EMR_SERVICE_ROLE, EMR_JOB_FLOW_ROLE, EMR_LOG_URI (optional).
    """
    env = _required_env("CODE_BUCKET", "EMR_SERVICE_ROLE", "EMR_JOB_FLOW_ROLE")
    env["EMR_LOG_URI"] = os.environ.get("EMR_LOG_URI", "")
    if isinstance(event, dict) and "scheduledTime" in event:
        # A schedule sends {"launch": {...}, "scheduledTime", "offset", "param"}: the steps'
        # `{date}` (or `{month}`) becomes the value of the run.
        rest, param, value = _resolve_schedule(event)
        event = json.loads(json.dumps(rest.get("launch")).replace("{" + param + "}", value))
    parsed = parse_event(EmrLaunchEvent, event)
    known = spark_job_names()
    unknown = [s.job for s in parsed.steps if s.job not in known]
    if unknown:
        raise InvalidEvent(f"unknown Spark job(s) {unknown}; known: {', '.join(known)}")
    if emr_client is None:
        import boto3

        emr_client = boto3.client("emr")
    response = emr_client.run_job_flow(**run_job_flow_request(parsed, env))
    log.info(json.dumps({"cluster": response["JobFlowId"], "steps": len(parsed.steps)}))
    return {"clusterId": response["JobFlowId"], "steps": [s.job for s in parsed.steps]}


# --- scheduled runs -----------------------------------------------------------------------


class ScheduledRun(BaseModel):
    """What an EventBridge schedule sends (see orchestration.aws.render.event_rule): the time the
    rule fired and which date or month that run processes."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    scheduled_time: dt.datetime = Field(alias="scheduledTime")
    offset: Literal["today", "yesterday", "seven_days_ago", "previous_month"]
    param: Literal["date", "month"]


def scheduled_value(time: dt.datetime, offset: str) -> str:
    """The date (YYYY-MM-DD) or month (YYYY-MM) a run scheduled at `time` (UTC) processes."""
    day = time.astimezone(dt.UTC).date()
    if offset == "previous_month":
        return (day.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    back = {"today": 0, "yesterday": 1, "seven_days_ago": 7}[offset]
    return (day - dt.timedelta(days=back)).isoformat()


def _resolve_schedule(event: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """(the event without its schedule fields, param, value) of a scheduled event."""
    run = parse_event(ScheduledRun, event)
    rest = {k: v for k, v in event.items() if k not in ("scheduledTime", "offset", "param")}
    return rest, run.param, scheduled_value(run.scheduled_time, run.offset)


# --- start_workflow -----------------------------------------------------------------------


def execution_name(payload: dict[str, Any]) -> str:
    """Deterministic: the same payload twice is one execution (Step Functions refuses the second)."""
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
    readable = _JOB_NAME_UNSAFE.sub("-", "-".join(str(v) for v in payload.values()))[:60]
    return f"{readable}-{digest}".strip("-")[:80]


def start_workflow(event: Any, context: Any = None, sfn_client: Any = None) -> dict:
    """StartExecution with the event as its input (a JSON object), of the event's
    `stateMachineArn` or else of STATE_MACHINE_ARN. A scheduled event (`scheduledTime`,
    `offset`, `param`) becomes `{..., "<param>": "<date or month>"}` first."""
    if not isinstance(event, dict) or not event:
        raise InvalidEvent("the workflow payload must be a non-empty JSON object")
    payload = dict(event)
    if "scheduledTime" in payload:
        payload, param, value = _resolve_schedule(payload)
        payload[param] = value
    arn = (
        payload.pop("stateMachineArn", None)
        or _required_env("STATE_MACHINE_ARN")["STATE_MACHINE_ARN"]
    )
    if not payload:
        raise InvalidEvent("the workflow payload must be a non-empty JSON object")
    if sfn_client is None:
        import boto3

        sfn_client = boto3.client("stepfunctions")
    response = sfn_client.start_execution(
        stateMachineArn=arn,
        name=execution_name(payload),
        input=json.dumps(payload, sort_keys=True),
    )
    log.info(json.dumps({"execution": response["executionArn"]}))
    return {"executionArn": response["executionArn"]}


def _required_env(*names: str) -> dict[str, str]:
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise RuntimeError(f"missing environment: {', '.join(missing)}")
    return {n: os.environ[n] for n in names}


# --- render_usage_report --------------------------------------------------------------------


class ReportRequest(DateRange):
    """What the render_report state sends: the workflow's range (checked as the local runner
    checks it) and where the query's result is."""

    result_location: str = Field(alias="resultLocation", pattern=r"^s3://[^/]+/.+")


def render_usage_report(event: Any, context: Any = None, s3_client: Any = None) -> dict:
    """Read the usage query's CSV result from S3, write the report (CSVs + HTML) under
    s3://LAKE_BUCKET/exports/usage/<startDate>_<endDate>/ and return the page's URI."""
    from orchestration.lake import Lake, split_s3_uri
    from orchestration.reports import render_usage_report as render
    from orchestration.workflows import USAGE_MONTHLY_REPORT

    request = parse_event(ReportRequest, event)
    bucket = _required_env("LAKE_BUCKET")["LAKE_BUCKET"]
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    source_bucket, source_key = split_s3_uri(request.result_location)
    body = s3_client.get_object(Bucket=source_bucket, Key=source_key)["Body"].read()
    files = render(body.decode("utf-8"), request)
    folder = Lake(f"s3://{bucket}").report(
        USAGE_MONTHLY_REPORT.exports, request.start_date.isoformat(), request.end_date.isoformat()
    )
    _, prefix = split_s3_uri(folder)
    types = {".csv": "text/csv; charset=utf-8", ".html": "text/html; charset=utf-8"}
    for name, text in files.items():
        s3_client.put_object(
            Bucket=bucket,
            Key=f"{prefix}/{name}",
            Body=text.encode("utf-8"),
            ContentType=types[os.path.splitext(name)[1]],
        )
    log.info(json.dumps({"report": folder, "files": sorted(files)}))
    return {"report": f"{folder}/report.html", "files": sorted(files)}
