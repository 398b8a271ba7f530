"""A Kinesis Firehose-compatible delivery stream for usage events (DESIGN §5.4).

PutRecord / PutRecordBatch semantics (limits, per-record results), buffering by size and by
interval, JSON → Parquet by the declared schema (unknown fields dropped; the conversion of
ingestion.usage_records, which AWS Firehose runs as its transformation Lambda), partitions by the
record's event date and hour (UTC), and records that fail conversion written to the error output
prefix `quarantine/events/processing-failed/` with the reason, as an error envelope. Delivery is
at-least-once, as Firehose's: consumers dedupe on `id` (the dbt staging model does).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.usage_records import ConversionError, usage_record
from orchestration.core.errors import InputError
from orchestration.core.lake import Lake

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1000 * 1024
# Conversion is the stream's processing step (on AWS its transformation Lambda), so a record it
# refuses lands where Firehose puts records its Lambda marked ProcessingFailed.
ERROR_OUTPUT_TYPE = "processing-failed"
TABLE = "usage_events"

# The declared schema (the Glue table Firehose converts against) plus the arrival time.
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("userid", pa.string()),
        ("format", pa.string()),
        ("timestamp", pa.timestamp("us")),
        ("ingested_at", pa.timestamp("us")),
    ]
)


class InvalidArgument(InputError):
    """A whole call refused, as Firehose's InvalidArgumentException (nothing is accepted)."""

    code = "InvalidArgumentException"


@dataclass(frozen=True)
class PutResult:
    """One record's outcome: a RecordId, or an ErrorCode and ErrorMessage."""

    record_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    def as_api(self) -> dict[str, str]:
        if self.record_id is not None:
            return {"RecordId": self.record_id}
        return {"ErrorCode": self.error_code or "", "ErrorMessage": self.error_message or ""}


@dataclass(frozen=True)
class BatchResult:
    responses: tuple[PutResult, ...]

    @property
    def failed_put_count(self) -> int:
        return sum(1 for r in self.responses if r.record_id is None)

    def as_api(self) -> dict:
        return {
            "FailedPutCount": self.failed_put_count,
            "Encrypted": False,
            "RequestResponses": [r.as_api() for r in self.responses],
        }


@dataclass(frozen=True)
class BufferingHints:
    """Deliver when the buffer holds `size_bytes`, or `interval_seconds` after its first record."""

    size_bytes: int = 64 * 1024 * 1024
    interval_seconds: float = 60.0


@dataclass(frozen=True)
class Buffered:
    record_id: str
    data: bytes
    arrived_at: dt.datetime


@dataclass
class DeliveryStats:
    """What deliveries have written so far (rows into the lake, records into the error output)."""

    delivered: int = 0
    failed_conversion: int = 0
    files: list[str] = field(default_factory=list)


def error_envelope(record: Buffered, error: ConversionError, stream: str, now: dt.datetime) -> dict:
    """Firehose's error output record: the raw data (base64) with why it was not delivered."""
    return {
        "deliveryStreamName": stream,
        "recordId": record.record_id,
        "attemptsMade": 1,
        "arrivalTimestamp": int(record.arrived_at.replace(tzinfo=dt.UTC).timestamp() * 1000),
        "lastErrorCode": error.code,
        "lastErrorMessage": str(error),
        "attemptEndingTimestamp": int(now.replace(tzinfo=dt.UTC).timestamp() * 1000),
        "rawData": base64.b64encode(record.data).decode("ascii"),
    }


def partition_rows(
    records: Iterable[Buffered], stream: str, now: dt.datetime
) -> tuple[dict[tuple[str, str], list[dict]], list[dict]]:
    """Rows grouped by (event date, hour) and the error envelopes of the records that failed."""
    partitions: dict[tuple[str, str], list[dict]] = defaultdict(list)
    errors: list[dict] = []
    for record in records:
        try:
            converted = usage_record(record.data, record.arrived_at)
        except ConversionError as error:
            errors.append(error_envelope(record, error, stream, now))
            continue
        partitions[converted.partition].append(converted.row)
    return partitions, errors


def _write_atomically(path: str, write: Callable[[str], None]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.partial")
    write(partial)
    os.replace(partial, path)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class DeliveryStream:
    """A local delivery stream into `lake/usage_events/dt=…/hour=…/` (thread-safe).

    Records are accepted into a buffer and delivered when it reaches the size hint, when its
    oldest record is `interval_seconds` old (checked by a background thread), on `flush()` and on
    `close()`: a clean stop loses nothing."""

    def __init__(
        self,
        lake: Lake,
        name: str = "usage-events",
        hints: BufferingHints | None = None,
        now: Callable[[], dt.datetime] = _now,
    ) -> None:
        if not lake.is_local:
            raise InputError(
                "the local delivery stream writes to a folder lake; on AWS use Firehose"
            )
        self.lake = lake
        self.name = name
        self.hints = hints or BufferingHints()
        self.stats = DeliveryStats()
        self._now = now
        self._buffer: list[Buffered] = []
        self._buffered_bytes = 0
        self._first_arrival: float | None = None
        self._lock = threading.Lock()
        self._deliver_lock = threading.Lock()
        self._closed = threading.Event()
        self._timer = threading.Thread(target=self._deliver_on_interval, daemon=True)
        self._timer.start()

    # -- the API -----------------------------------------------------------------------------

    def put_record(self, data: bytes) -> PutResult:
        return self.put_record_batch([data]).responses[0]

    def put_record_batch(self, records: Sequence[bytes]) -> BatchResult:
        """Accept what fits the per-record limit; refuse the whole call beyond the batch limits."""
        if self._closed.is_set():
            raise InvalidArgument(f"delivery stream {self.name} is closed")
        check_record_count(len(records))
        total = sum(len(data) for data in records)
        if total > MAX_BATCH_BYTES:
            raise InvalidArgument(
                f"the batch holds {total:,} bytes; at most {MAX_BATCH_BYTES:,} are allowed"
            )
        responses = []
        accepted: list[Buffered] = []
        arrived = self._now()
        for data in records:
            if len(data) > MAX_RECORD_BYTES:
                responses.append(
                    PutResult(error_code=InvalidArgument.code, error_message=oversize(data))
                )
                continue
            record = Buffered(f"{uuid.uuid4().hex}{uuid.uuid4().hex}", bytes(data), arrived)
            accepted.append(record)
            responses.append(PutResult(record_id=record.record_id))
        self._buffer_records(accepted)
        return BatchResult(tuple(responses))

    def flush(self) -> None:
        """Deliver everything buffered now."""
        with self._deliver_lock:
            with self._lock:
                records, self._buffer = self._buffer, []
                self._buffered_bytes = 0
                self._first_arrival = None
            if records:
                self._deliver(records)

    def close(self) -> None:
        """Deliver what is buffered and refuse further records."""
        self._closed.set()
        self._timer.join(timeout=5)
        self.flush()

    def __enter__(self) -> DeliveryStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- buffering and delivery ----------------------------------------------------------------

    def _buffer_records(self, records: list[Buffered]) -> None:
        if not records:
            return
        with self._lock:
            self._buffer.extend(records)
            self._buffered_bytes += sum(len(r.data) for r in records)
            if self._first_arrival is None:
                self._first_arrival = time.monotonic()
            full = self._buffered_bytes >= self.hints.size_bytes
        if full:
            self.flush()

    def _deliver_on_interval(self) -> None:
        tick = min(1.0, max(0.05, self.hints.interval_seconds / 4))
        while not self._closed.wait(tick):
            with self._lock:
                first = self._first_arrival
            if first is not None and time.monotonic() - first >= self.hints.interval_seconds:
                self.flush()

    def _deliver(self, records: list[Buffered]) -> None:
        now = self._now()
        partitions, errors = partition_rows(records, self.name, now)
        stamp = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        for (day, hour), rows in sorted(partitions.items()):
            path = os.path.join(
                self.lake.curated(TABLE),
                f"dt={day}",
                f"hour={hour}",
                f"{self.name}-{stamp}.parquet",
            )
            table = pa.Table.from_pylist(rows, schema=SCHEMA)
            _write_atomically(path, lambda p, t=table: pq.write_table(t, p, compression="snappy"))
            self.stats.files.append(path)
            self.stats.delivered += len(rows)
        if errors:
            path = write_error_output(self.lake, ERROR_OUTPUT_TYPE, self.name, now, errors)
            self.stats.files.append(path)
            self.stats.failed_conversion += len(errors)


def write_error_output(
    lake: Lake, error_type: str, stream: str, now: dt.datetime, records: list[dict]
) -> str:
    """Records not delivered, as JSON lines under quarantine/events/<error_type>/dt=<day>/."""
    path = os.path.join(
        lake.quarantine("events"),
        error_type,
        f"dt={now:%Y-%m-%d}",
        f"{stream}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.jsonl",
    )
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)

    def write(partial: str) -> None:
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)

    _write_atomically(path, write)
    return path


def oversize(data: bytes) -> str:
    return f"record of {len(data):,} bytes exceeds the {MAX_RECORD_BYTES:,}-byte limit"


def check_record_count(count: int) -> None:
    """PutRecordBatch takes 1 to MAX_BATCH_RECORDS records; anything else refuses the call."""
    if count < 1:
        raise InvalidArgument("Records must hold at least 1 record")
    if count > MAX_BATCH_RECORDS:
        raise InvalidArgument(
            f"{count} records in one batch; at most {MAX_BATCH_RECORDS} are allowed"
        )


def decode_data(data: object) -> bytes:
    """A record's `Data` as the API sends it (base64 text), or InvalidArgument."""
    if not isinstance(data, str):
        raise InvalidArgument("Data is required")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("Data is not valid base64") from None


def decode_api_records(records: object) -> list[bytes | PutResult]:
    """The `Records` of a PutRecordBatch request: each `Data` base64-decoded, or the per-record
    failure of one that is not valid base64."""
    if not isinstance(records, list):
        raise InvalidArgument("Records must be a list of {'Data': base64}")
    decoded: list[bytes | PutResult] = []
    for item in records:
        try:
            decoded.append(decode_data(item.get("Data") if isinstance(item, dict) else None))
        except InvalidArgument as error:
            decoded.append(PutResult(error_code=error.code, error_message=str(error)))
    return decoded


def put_decoded(stream: DeliveryStream, decoded: list[bytes | PutResult]) -> BatchResult:
    """PutRecordBatch over decoded records: the undecodable keep their failure, in order."""
    check_record_count(len(decoded))
    good = [d for d in decoded if isinstance(d, bytes)]
    results = iter(stream.put_record_batch(good).responses if good else ())
    return BatchResult(tuple(d if isinstance(d, PutResult) else next(results) for d in decoded))


@dataclass
class IngestReport:
    lines: int = 0
    accepted: int = 0
    refused: int = 0
    batches: int = 0


def batches_of(records: Iterable[bytes]) -> Iterable[list[bytes]]:
    """Consecutive batches within PutRecordBatch's limits (500 records, 4 MiB); records are at
    most MAX_RECORD_BYTES each."""
    batch: list[bytes] = []
    size = 0
    for data in records:
        if batch and (len(batch) == MAX_BATCH_RECORDS or size + len(data) > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(data)
        size += len(data)
    if batch:
        yield batch


def ingest_lines(stream: DeliveryStream, lines: Iterable[bytes]) -> IngestReport:
    """Put JSON lines (blank lines skipped) in batches. A line over the record size limit, which
    Firehose would refuse, goes whole to the error output as `put-refused`: nothing read is lost."""
    report = IngestReport()
    refused: list[dict] = []

    def fitting() -> Iterable[bytes]:
        for line in lines:
            record = line.rstrip(b"\r\n")
            if not record.strip():
                continue
            report.lines += 1
            if len(record) > MAX_RECORD_BYTES:
                refused.append(refusal(stream.name, report.lines, record))
                continue
            yield record

    for batch in batches_of(fitting()):
        result = stream.put_record_batch(batch)
        report.batches += 1
        report.accepted += len(batch) - result.failed_put_count
    report.refused = len(refused)
    if refused:
        write_error_output(stream.lake, "put-refused", stream.name, _now(), refused)
    return report


def refusal(stream: str, record_number: int, data: bytes) -> dict:
    return {
        "deliveryStreamName": stream,
        "recordNumber": record_number,
        "lastErrorCode": InvalidArgument.code,
        "lastErrorMessage": oversize(data),
        "rawData": base64.b64encode(data).decode("ascii"),
    }
