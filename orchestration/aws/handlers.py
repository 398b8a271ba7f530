"""Lambda handlers: thin adapters from an AWS event to one call of the platform (DESIGN §6)."""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

from orchestration.errors import InputError

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

# Batch job names: letters, digits, hyphens and underscores, at most 128 characters.
_JOB_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class InvalidEvent(InputError, ValueError):
    """An event the handler refuses: nothing is submitted, the message says why."""


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
    if len(parts) != 3 or parts[0] != "incoming" or not parts[2]:
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

    queue = os.environ.get("BATCH_JOB_QUEUE")
    definition = os.environ.get("BATCH_JOB_DEFINITION")
    if not queue or not definition:
        raise RuntimeError("BATCH_JOB_QUEUE and BATCH_JOB_DEFINITION must be set")
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
