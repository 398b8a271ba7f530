"""Lambda handlers: thin adapters from an AWS event to one call of the platform (DESIGN §6).

Each parses its event into a model of `orchestration.aws.events` (a bad event raises
InvalidEvent and submits nothing), reads what it submits to from the settings, calls one AWS API
through an injectable client and returns what it submitted."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from orchestration.aws.events import (
    BatchJobsEvent,
    EmrEnvironment,
    EmrLaunchEvent,
    InvalidEvent,
    ReportRequest,
    batch_submissions,
    execution_name,
    incoming_object,
    load_job_name,
    parse_event,
    resolve_schedule,
    run_job_flow_request,
)
from orchestration.core.lake import Lake, split_s3_uri
from orchestration.core.settings import Settings

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)


def _required(settings: Settings, *fields: str) -> dict[str, str]:
    """The named settings, or one error naming every environment variable that is missing."""
    values = {name: getattr(settings, name) for name in fields}
    missing = [name.upper() for name, value in values.items() if not value]
    if missing:
        raise RuntimeError(f"missing environment: {', '.join(missing)}")
    return values


def _client(service: str, client: Any) -> Any:
    if client is not None:
        return client
    import boto3

    return boto3.client(service)


def on_object_created(event: dict[str, Any], context: Any = None, batch_client: Any = None) -> dict:
    """S3 Object Created (via EventBridge) under incoming/<table>/ → one warehouse-load Batch job.

    Environment: BATCH_JOB_QUEUE, BATCH_JOB_DEFINITION, LAKE_BUCKET (optional: accept only it).
    The job definition's command is `analytics load Ref::uri`.
    """
    from ingestion.tables import TABLES

    settings = Settings()
    env = _required(settings, "batch_job_queue", "batch_job_definition")
    try:
        table, uri = incoming_object(event, set(TABLES), settings.lake_bucket)
    except InvalidEvent as err:
        log.error(json.dumps({"refused": str(err), "event_id": _event_id(event)}))
        raise
    submitted = _client("batch", batch_client).submit_job(
        jobName=load_job_name(table, uri),
        jobQueue=env["batch_job_queue"],
        jobDefinition=env["batch_job_definition"],
        parameters={"uri": uri},
    )
    log.info(json.dumps({"submitted": submitted["jobId"], "uri": uri}))
    return {"jobId": submitted["jobId"], "jobName": submitted["jobName"], "uri": uri}


def _event_id(event: Any) -> Any:
    return event.get("id") if isinstance(event, dict) else None


def submit_batch_jobs(event: Any, context: Any = None, batch_client: Any = None) -> dict:
    """Submit the jobs of `{"jobs": [...]}` in order; a job waits for every shard of the jobs it
    depends on. Nothing is submitted if any part of the event is invalid."""
    requests = batch_submissions(parse_event(BatchJobsEvent, event))
    batch_client = _client("batch", batch_client)
    ids: dict[str, list[str]] = {}
    submitted = []
    for job, request in requests:
        depends = [{"jobId": i} for name in job.depends_on for i in ids[name]]
        response = batch_client.submit_job(**request, **({"dependsOn": depends} if depends else {}))
        ids.setdefault(job.job_name, []).append(response["jobId"])
        submitted.append({"jobName": response["jobName"], "jobId": response["jobId"]})
    log.info(json.dumps({"submitted": submitted}))
    return {"submitted": submitted}


def spark_job_names() -> list[str]:
    """Every Spark job of the project: the top-level modules of `spark_jobs` (listed, not
    imported: a Lambda has no Spark)."""
    import pkgutil

    import spark_jobs

    return sorted(m.name for m in pkgutil.iter_modules(spark_jobs.__path__) if not m.ispkg)


def launch_emr(event: Any, context: Any = None, emr_client: Any = None) -> dict:
    """RunJobFlow for an ephemeral cluster whose steps spark-submit project jobs.

    Environment: CODE_BUCKET, LAKE_BUCKET, PII_SALT_SECRET_ID (what the steps are given),
    EMR_SERVICE_ROLE, EMR_JOB_FLOW_ROLE, EMR_LOG_URI (optional).
    """
    settings = Settings()
    needed = _required(
        settings,
        "code_bucket",
        "lake_bucket",
        "pii_salt_secret_id",
        "emr_service_role",
        "emr_job_flow_role",
    )
    env = EmrEnvironment(
        code_bucket=needed["code_bucket"],
        lake_bucket=needed["lake_bucket"],
        salt_secret=needed["pii_salt_secret_id"],
        region=settings.aws_region,
        service_role=needed["emr_service_role"],
        job_flow_role=needed["emr_job_flow_role"],
        log_uri=settings.emr_log_uri,
    )
    if isinstance(event, dict) and "scheduledTime" in event:
        # A schedule sends {"launch": {...}, "scheduledTime", "offset", "param"}: the steps'
        # `{date}` (or `{month}`) becomes the value of the run.
        param = event.get("param")
        resolved = resolve_schedule(event)
        launch = json.dumps(resolved.get("launch"))
        event = json.loads(launch.replace("{" + str(param) + "}", str(resolved.get(param))))
    parsed = parse_event(EmrLaunchEvent, event)
    known = spark_job_names()
    unknown = [s.job for s in parsed.steps if s.job not in known]
    if unknown:
        raise InvalidEvent(f"unknown Spark job(s) {unknown}; known: {', '.join(known)}")
    response = _client("emr", emr_client).run_job_flow(**run_job_flow_request(parsed, env))
    log.info(json.dumps({"cluster": response["JobFlowId"], "steps": len(parsed.steps)}))
    return {"clusterId": response["JobFlowId"], "steps": [s.job for s in parsed.steps]}


def start_workflow(event: Any, context: Any = None, sfn_client: Any = None) -> dict:
    """StartExecution with the event as its input (a JSON object), of the event's
    `stateMachineArn` or else of STATE_MACHINE_ARN. A scheduled event (`scheduledTime`,
    `offset`, `param`) becomes `{..., "<param>": "<date or month>"}` first."""
    if not isinstance(event, dict) or not event:
        raise InvalidEvent("the workflow payload must be a non-empty JSON object")
    payload = dict(event)
    if "scheduledTime" in payload:
        payload = resolve_schedule(payload)
    arn = (
        payload.pop("stateMachineArn", None)
        or _required(Settings(), "state_machine_arn")["state_machine_arn"]
    )
    if not payload:
        raise InvalidEvent("the workflow payload must be a non-empty JSON object")
    response = _client("stepfunctions", sfn_client).start_execution(
        stateMachineArn=arn,
        name=execution_name(payload),
        input=json.dumps(payload, sort_keys=True),
    )
    log.info(json.dumps({"execution": response["executionArn"]}))
    return {"executionArn": response["executionArn"]}


def transform_usage_events(event: Any, context: Any = None) -> dict:
    """The usage-events delivery stream's transformation Lambda: each record converted by the
    local delivery stream's own conversion (ingestion.usage_records), with its partition keys
    (`dt`, `hour` of the event time in UTC) and arrival time; refused records back as
    ProcessingFailed, which Firehose writes to quarantine/events/processing-failed/."""
    from ingestion.usage_records import transform_firehose_records

    if not isinstance(event, dict) or not isinstance(event.get("records"), list):
        raise InvalidEvent("a Firehose transformation event has a list of records")
    records = transform_firehose_records(event["records"])
    failed = sum(1 for r in records if r["result"] != "Ok")
    log.info(json.dumps({"records": len(records), "processing_failed": failed}))
    return {"records": records}


def render_usage_report(event: Any, context: Any = None, s3_client: Any = None) -> dict:
    """Read the usage query's CSV result from S3, write the report (CSVs + HTML) under
    s3://LAKE_BUCKET/exports/usage/<startDate>_<endDate>/ and return the page's URI."""
    from orchestration.outputs.reports import render_usage_report as render
    from orchestration.workflows import USAGE_MONTHLY_REPORT

    request = parse_event(ReportRequest, event)
    bucket = _required(Settings(), "lake_bucket")["lake_bucket"]
    s3_client = _client("s3", s3_client)
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
