"""The one record conversion of usage events (DESIGN §5.4), shared by the local delivery stream
(ingestion.firehose) and AWS Firehose, where it runs as the stream's transformation Lambda
(`orchestration.aws.handlers.transform_usage_events`). Both give a record the same row, the
same arrival time and the same partition (the UTC date and hour of its event time), and refuse
the same records. No third-party import: the Lambda carries only the standard library of it."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from orchestration.core.time_bounds import PLAUSIBLE_YEARS, is_plausible_time

REQUIRED = ("id", "userid", "format", "timestamp")
log = logging.getLogger(__name__)


class ConversionError(ValueError):
    """A record that cannot be converted: it goes to the error output with `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = f"DataFormatConversion.{code}"


@dataclass(frozen=True)
class UsageRecord:
    """One converted record: the row of the declared schema (with its arrival time)."""

    row: dict[str, Any]

    @property
    def partition(self) -> tuple[str, str]:
        """(dt, hour) of the event time, in UTC."""
        stamp: dt.datetime = self.row["timestamp"]
        return stamp.date().isoformat(), f"{stamp.hour:02d}"

    def hive_json(self) -> bytes:
        """The row as the JSON Firehose converts to Parquet against the Glue table (Hive JSON
        SerDe: timestamps as `yyyy-mm-dd hh:mm:ss.ffffff`, which java.sql.Timestamp reads)."""
        values = {
            k: v.isoformat(sep=" ", timespec="microseconds") if isinstance(v, dt.datetime) else v
            for k, v in self.row.items()
        }
        return (json.dumps(values, sort_keys=True) + "\n").encode()


def _utc_naive(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def parse_timestamp(value: object) -> dt.datetime:
    """ISO-8601 (UTC when no offset) or epoch milliseconds, as a naive UTC datetime."""
    if isinstance(value, bool):
        raise ConversionError("InvalidTimestamp", f"timestamp {value!r} is not a time")
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value / 1000, dt.UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError) as error:
            raise ConversionError("InvalidTimestamp", f"timestamp {value!r}: {error}") from None
    if isinstance(value, str):
        try:
            return _utc_naive(dt.datetime.fromisoformat(value))
        except ValueError:
            raise ConversionError(
                "InvalidTimestamp", f"timestamp {value!r} is neither ISO-8601 nor epoch ms"
            ) from None
    raise ConversionError("InvalidTimestamp", f"timestamp {value!r} is not a time")


def convert(data: bytes) -> dict[str, object]:
    """One record's JSON → a row of the declared schema (field names matched case-insensitively,
    unknown fields dropped), or ConversionError."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConversionError("MalformedData", f"not a JSON document: {error}") from None
    if not isinstance(document, dict):
        raise ConversionError("MalformedData", "the record is JSON but not an object")
    fields = {str(key).lower(): value for key, value in document.items()}
    missing = [name for name in REQUIRED if fields.get(name) in (None, "")]
    if missing:
        raise ConversionError("MissingField", f"missing required field(s): {', '.join(missing)}")
    for name in ("id", "userid", "format"):
        if not isinstance(fields[name], str):
            raise ConversionError(
                "InvalidFieldType", f"{name} must be a string, got {type(fields[name]).__name__}"
            )
    timestamp = parse_timestamp(fields["timestamp"])
    if not is_plausible_time(timestamp):
        # Epoch seconds sent as milliseconds (1970) or a sentinel year: not a real event time,
        # and it would open a partition decades away.
        raise ConversionError(
            "InvalidTimestamp",
            f"timestamp {fields['timestamp']!r} is {timestamp:%Y-%m-%d}, outside {PLAUSIBLE_YEARS}",
        )
    return {
        "id": fields["id"],
        "userid": fields["userid"],
        "format": fields["format"],
        "timestamp": timestamp,
    }


def usage_record(data: bytes, arrived_at: dt.datetime) -> UsageRecord:
    """The converted record with its arrival time (`ingested_at`, naive UTC)."""
    return UsageRecord({**convert(data), "ingested_at": _utc_naive(arrived_at)})


def transform_firehose_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Firehose's data-transformation contract: each record (`recordId`, base64 `data`,
    `approximateArrivalTimestamp` in epoch ms) back as `Ok` with the converted JSON and its
    partition keys, or `ProcessingFailed` with its data unchanged (Firehose writes it to the
    error output prefix; the reason is logged with the record id)."""
    results = []
    for record in records:
        record_id = record.get("recordId")
        try:
            data = base64.b64decode(record.get("data", ""), validate=True)
            arrived = dt.datetime.fromtimestamp(
                record["approximateArrivalTimestamp"] / 1000, dt.UTC
            )
            converted = usage_record(data, arrived)
        except (ConversionError, binascii.Error, KeyError, TypeError, ValueError) as error:
            code = getattr(error, "code", "Lambda.InvalidRecord")
            log.warning(json.dumps({"recordId": record_id, "code": code, "reason": str(error)}))
            results.append(
                {"recordId": record_id, "result": "ProcessingFailed", "data": record.get("data")}
            )
            continue
        day, hour = converted.partition
        results.append(
            {
                "recordId": record_id,
                "result": "Ok",
                "data": base64.b64encode(converted.hive_json()).decode("ascii"),
                "metadata": {"partitionKeys": {"dt": day, "hour": hour}},
            }
        )
    return results
