"""The events the Lambda handlers accept, as typed models, and the pure functions that turn a
valid event into the AWS request it stands for (DESIGN §6). Nothing here calls AWS."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from orchestration.aws import spark_runtime
from orchestration.core.errors import InputError
from orchestration.workflows import DateRange

# Batch job names: letters, digits, hyphens and underscores, at most 128 characters.
JOB_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class InvalidEvent(InputError, ValueError):
    """An event the handler refuses: nothing is submitted, the message says why."""


M = TypeVar("M", bound=BaseModel)


def parse_event(model: type[M], event: Any) -> M:
    """Validate an event against its model, or raise InvalidEvent with every problem in one line."""
    try:
        return model.model_validate(event)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in err.errors()
        )
        raise InvalidEvent(f"invalid {model.__name__}: {problems}") from None


# --- S3 Object Created → warehouse load ---------------------------------------------------


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
    return JOB_NAME_UNSAFE.sub("-", f"load-{table}-{key.rsplit('/', 1)[-1]}")[:128]


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


# --- launch_emr ---------------------------------------------------------------------------


class EmrStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job: str
    args: list[str] = []
    name: str | None = None


EMR_RELEASE = spark_runtime.RELEASE
EMR_IDLE_TIMEOUT_SECONDS = 3600
# The EMR v2 managed policies (AmazonEMRServicePolicy_v2) act only on resources with this tag.
EMR_MANAGED_POLICY_TAG = {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"}


class EmrInstances(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    master_type: str = Field(default="m5.xlarge", alias="masterType")
    core_type: str = Field(default="m5.xlarge", alias="coreType")
    core_count: int = Field(default=2, ge=0, le=100, alias="coreCount")


class EmrLaunchEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(min_length=1, max_length=256)
    release_label: str = Field(
        default=EMR_RELEASE, alias="releaseLabel", pattern=r"^emr-(spark-)?\d+\.\d+\.\d+$"
    )
    steps: list[EmrStep] = Field(min_length=1)
    instances: EmrInstances = Field(default_factory=EmrInstances)
    idle_timeout_seconds: int = Field(
        default=EMR_IDLE_TIMEOUT_SECONDS, ge=60, le=604800, alias="idleTimeoutSeconds"
    )
    action_on_failure: Literal["TERMINATE_CLUSTER", "CANCEL_AND_WAIT", "CONTINUE"] = Field(
        default="TERMINATE_CLUSTER", alias="actionOnFailure"
    )


@dataclass(frozen=True)
class EmrEnvironment:
    """Where a cluster's steps find the code, the lake and the salt, and the roles it runs as."""

    code_bucket: str
    lake_bucket: str
    salt_secret: str
    region: str
    service_role: str
    job_flow_role: str
    log_uri: str | None = None


def emr_step(
    step: EmrStep, env: EmrEnvironment, action_on_failure: str, vcpus: int, memory_mib: int
) -> dict[str, Any]:
    """A step that spark-submits one project job (`jobs/<job>.py` of the bundle) in cluster
    mode, with the packed Python environment, the code zip and the job's settings (YARN's
    driver and executor environment)."""
    environment = spark_runtime.task_environment(env.lake_bucket, env.salt_secret, env.region)
    conf = spark_runtime.submit_conf(
        env.code_bucket, environment, spark_runtime.YARN_DRIVER_ENV, vcpus, memory_mib
    )
    return {
        "Name": step.name or step.job,
        "ActionOnFailure": action_on_failure,
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": [
                "spark-submit",
                "--deploy-mode",
                "cluster",
                *spark_runtime.submit_args(conf),
                spark_runtime.code_uri(env.code_bucket, f"jobs/{step.job}.py"),
                *step.args,
            ],
        },
    }


def cluster_request(
    name: str,
    env: EmrEnvironment,
    instances: EmrInstances,
    idle_timeout_seconds: int = EMR_IDLE_TIMEOUT_SECONDS,
    release_label: str = EMR_RELEASE,
) -> dict[str, Any]:
    """The one cluster specification (a RunJobFlow request without steps), launched by the
    launch_emr Lambda and by the listings state machine's createCluster.sync alike: the
    runtime's release, on-demand primary and core groups, auto-termination when idle, and the
    tag the v2 managed policies require."""
    groups = [
        {
            "Name": "primary",
            "InstanceRole": "MASTER",
            "InstanceType": instances.master_type,
            "InstanceCount": 1,
        }
    ]
    if instances.core_count:
        groups.append(
            {
                "Name": "core",
                "InstanceRole": "CORE",
                "InstanceType": instances.core_type,
                "InstanceCount": instances.core_count,
            }
        )
    request: dict[str, Any] = {
        "Name": name,
        "ReleaseLabel": release_label,
        "Applications": [{"Name": "Spark"}],
        "Instances": {
            "InstanceGroups": groups,
            # Ephemeral: the cluster ends when its steps are done.
            "KeepJobFlowAliveWhenNoSteps": False,
            "TerminationProtected": False,
        },
        "AutoTerminationPolicy": {"IdleTimeout": idle_timeout_seconds},
        "ServiceRole": env.service_role,
        "JobFlowRole": env.job_flow_role,
        "VisibleToAllUsers": True,
        "Tags": [{"Key": "project", "Value": "analytics"}, EMR_MANAGED_POLICY_TAG],
    }
    if env.log_uri:
        request["LogUri"] = env.log_uri
    return request


def run_job_flow_request(
    event: EmrLaunchEvent, env: EmrEnvironment, vcpus: int = 2, memory_mib: int = 8192
) -> dict[str, Any]:
    """The launch_emr Lambda's RunJobFlow: the cluster specification with the event's steps."""
    request = cluster_request(
        event.name, env, event.instances, event.idle_timeout_seconds, event.release_label
    )
    request["Steps"] = [
        emr_step(s, env, event.action_on_failure, vcpus, memory_mib) for s in event.steps
    ]
    return request


# --- scheduled runs and workflows ---------------------------------------------------------


class ScheduledRun(BaseModel):
    """What an EventBridge schedule sends (see orchestration.aws.render.event_rule): the time the
    rule fired and which date or month that run processes."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    scheduled_time: dt.datetime = Field(alias="scheduledTime")
    offset: Literal["today", "yesterday", "seven_days_ago", "previous_month"]
    # "range": a workflow's {"startDate", "endDate"}, the whole previous month.
    param: Literal["date", "month", "range"]


def scheduled_value(time: dt.datetime, offset: str) -> str:
    """The date (YYYY-MM-DD) or month (YYYY-MM) a run scheduled at `time` (UTC) processes."""
    day = time.astimezone(dt.UTC).date()
    if offset == "previous_month":
        return (day.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    back = {"today": 0, "yesterday": 1, "seven_days_ago": 7}[offset]
    return (day - dt.timedelta(days=back)).isoformat()


def resolve_schedule(event: dict[str, Any]) -> dict[str, Any]:
    """A scheduled event as the run's input: its schedule fields replaced by the date or month
    it processes, or (param "range", offset previous_month) by the month's startDate/endDate."""
    run = parse_event(ScheduledRun, event)
    rest = {k: v for k, v in event.items() if k not in ("scheduledTime", "offset", "param")}
    value = scheduled_value(run.scheduled_time, run.offset)
    if run.param != "range":
        return {**rest, run.param: value}
    if run.offset != "previous_month":
        raise InvalidEvent("a scheduled range is the previous month (offset previous_month)")
    return {**rest, **DateRange.month(value).payload()}


def execution_name(payload: dict[str, Any]) -> str:
    """Deterministic: the same payload twice is one execution (Step Functions refuses the second)."""
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
    readable = JOB_NAME_UNSAFE.sub("-", "-".join(str(v) for v in payload.values()))[:60]
    return f"{readable}-{digest}".strip("-")[:80]


# --- render_usage_report --------------------------------------------------------------------


class ReportRequest(DateRange):
    """What the render_report state sends: the workflow's range (checked as the local runner
    checks it) and where the query's result is."""

    result_location: str = Field(alias="resultLocation", pattern=r"^s3://[^/]+/.+")
