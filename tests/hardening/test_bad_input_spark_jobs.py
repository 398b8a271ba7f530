"""The §4 bad-input catalogue through every raw → lake Spark job, on real files read by the real
jobs: each bad line ends in quarantine with its reason, every valid line reaches the lake
unchanged, and raw lines = accepted + quarantined (the lines are counted here, from the bytes).

The expected reasons are written by hand per dataset below; the lake and quarantine are read back
with DuckDB, not with the jobs' own code."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestration.core.lake import Lake
from orchestration.core.settings import LOCAL_PII_SALT, Settings
from spark_jobs import (
    listings_postprocessing,
    notification_attempted,
    notification_delivered,
    outcome_experience_lookup,
    social_curation,
)
from spark_jobs.common.partitions import UnreadableInputError
from tests.digests import digest_tree

pytestmark = pytest.mark.spark

DAY = dt.date(2026, 3, 1)
MAX_RECORD_BYTES = 4096
SQL_ISH = "x'); DROP TABLE lake.notification_attempts; --"


@dataclass(frozen=True)
class Dataset:
    """One raw dataset of §4 and the hand-chosen fields its bad cases break."""

    raw: str
    table: str
    valid: dict[str, Any]
    key: str  # the (first) key field; each case gets its own value of it
    duplicate_reason: str
    required: str  # a required field that is dropped, renamed, nulled
    wrong_type: tuple[str, Any]  # a field and a value of the wrong JSON type
    enum: tuple[str, str] | None = None  # a field and a value outside its enum
    timestamp: str | None = None
    integer_range: tuple[str, int] | None = None  # a field and a value outside its bounds
    integer_key: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


DATASETS = {
    "attempts": Dataset(
        raw="notifications/attempted",
        table="notification_attempts",
        valid={
            "client_id": "c1",
            "customer_id": "u1",
            "experience_id": "e1",
            "channel": "sms",
            "destination": "+447700900123",
            "attempted_at": "2026-03-01T10:00:00Z",
        },
        key="notification_id",
        duplicate_reason="duplicate:notification_id",
        required="customer_id",
        wrong_type=("client_id", 42),
        enum=("channel", "fax"),
        timestamp="attempted_at",
    ),
    "receipts": Dataset(
        raw="notifications/delivered",
        table="notification_receipts",
        valid={"status": "delivered", "reported_at": "2026-03-01T10:00:05Z", "provider": "p1"},
        key="notification_id",
        duplicate_reason="duplicate:notification_id+status+reported_at",
        required="status",
        wrong_type=("provider", ["p1"]),
        enum=("status", "read"),
        timestamp="reported_at",
    ),
    "experiences": Dataset(
        raw="experiences",
        table="experiences",
        valid={
            "client_id": "c1",
            "experience_name": "Welcome",
            "outcome": "signup",
            "updated_at": "2026-02-01T00:00:00+01:00",
        },
        key="experience_id",
        duplicate_reason="duplicate:experience_id",
        required="outcome",
        wrong_type=("client_id", True),
        timestamp="updated_at",
    ),
    "events": Dataset(
        raw="ticketing/events",
        table="ticketing_events",
        valid={"brand_id": 3, "name": "Gig", "starts_at": "2026-05-01T19:00:00Z"},
        key="event_id",
        duplicate_reason="duplicate:event_id",
        required="brand_id",
        wrong_type=("brand_id", "3"),
        timestamp="starts_at",
        integer_range=("brand_id", 0),
        integer_key=True,
    ),
    "orders": Dataset(
        raw="ticketing/orders",
        table="ticketing_orders",
        valid={
            "event_id": 7,
            "user_id": "user-1",
            "quantity": 2,
            "status": "paid",
            "ordered_at": "2026-03-01T09:00:00Z",
        },
        key="order_id",
        duplicate_reason="duplicate:order_id",
        required="user_id",
        wrong_type=("quantity", 2.5),
        enum=("status", "pending"),
        timestamp="ordered_at",
        integer_range=("quantity", 0),
    ),
    "users": Dataset(
        raw="users",
        table="users",
        valid={"gender": "female", "birth_year": 1990, "country": "GB"},
        key="user_id",
        duplicate_reason="duplicate:user_id",
        required="user_id",
        wrong_type=("birth_year", "1990"),
        enum=("gender", "robot"),
        integer_range=("birth_year", 3001),
    ),
    "likes": Dataset(
        raw="social/likes",
        table="social_likes",
        valid={"page_id": "page-1", "page_name": "Page", "category": "music"},
        key="user_id",
        duplicate_reason="duplicate:user_id+page_id",
        required="page_id",
        wrong_type=("page_name", {"en": "Page"}),
    ),
    "listens": Dataset(
        raw="social/listens",
        table="social_listens",
        valid={"artist_id": "a1", "artist_name": "Band", "genre": "pop", "play_count": 12},
        key="user_id",
        duplicate_reason="duplicate:user_id+artist_id",
        required="artist_id",
        wrong_type=("play_count", "12"),
        integer_range=("play_count", -1),
    ),
}


@dataclass
class Case:
    name: str
    line: bytes
    reason: str | None  # None: accepted
    key: Any = None  # the key value of an accepted line


def _record(ds: Dataset, key: Any, **changes: Any) -> dict[str, Any]:
    record = {ds.key: key, **ds.valid}
    record.update(changes)
    return record


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode()


def cases(ds: Dataset) -> list[Case]:
    """Every §4 / issue-9 case that applies to the dataset, with the outcome worked by hand."""
    ids = iter(range(100, 200))

    def key() -> Any:
        n = next(ids)
        return n if ds.integer_key else f"k{n}"

    out: list[Case] = []
    k = key()
    out.append(Case("valid", _line(_record(ds, k)), None, k))
    k = key()
    out.append(Case("extra field (ignored)", _line(_record(ds, k, unexpected=1)), None, k))
    k = key()
    record = _record(ds, k)
    out.append(Case("duplicate id, first copy", _line(record), None, k))
    out.append(Case("duplicate id, second copy", _line(record), ds.duplicate_reason))
    if ds.integer_key:
        bad = _record(ds, SQL_ISH)
        out.append(Case("SQL-ish id", _line(bad), f"wrong_type:{ds.key}"))
    else:
        out.append(Case("SQL-ish id (valid text)", _line(_record(ds, SQL_ISH)), None, SQL_ISH))
    out.append(Case("truncated record", _line(_record(ds, key()))[:-7], "malformed_json"))
    out.append(Case("malformed JSON", b"{'single': 'quotes'}", "malformed_json"))
    out.append(Case("empty line", b"", "malformed_json"))
    out.append(Case("not an object", b'["a", 1]', "not_a_json_object"))
    missing = _record(ds, key())
    missing.pop(ds.required)
    out.append(Case("missing field", _line(missing), f"missing_field:{ds.required}"))
    renamed = _record(ds, key())
    renamed[ds.required.title().replace("_", "")] = renamed.pop(ds.required)
    out.append(Case("renamed field", _line(renamed), f"missing_field:{ds.required}"))
    nulled = _record(ds, key(), **{ds.required: None})
    out.append(Case("null required field", _line(nulled), f"missing_field:{ds.required}"))
    name, value = ds.wrong_type
    out.append(Case("wrong type", _line(_record(ds, key(), **{name: value})), f"wrong_type:{name}"))
    if ds.enum:
        name, value = ds.enum
        out.append(
            Case(
                "unknown enum value",
                _line(_record(ds, key(), **{name: value})),
                f"unknown_value:{name}",
            )
        )
    if ds.timestamp:
        ts = ds.timestamp
        for label, text, reason in [
            ("unparseable timestamp", "next tuesday", f"bad_timestamp:{ts}"),
            ("impossible date", "2026-02-30T10:00:00Z", f"bad_timestamp:{ts}"),
            ("timestamp without zone", "2026-03-01T10:00:00", f"bad_timestamp:{ts}"),
            ("year 9999", "9999-12-31T23:59:59Z", f"out_of_range:{ts}"),
            ("year 1", "0001-01-01T00:00:00Z", f"out_of_range:{ts}"),
        ]:
            out.append(Case(label, _line(_record(ds, key(), **{ts: text})), reason))
        k = key()
        offset = _record(ds, k, **{ts: "2026-03-01T12:00:00+02:00"})
        out.append(Case("timestamp with offset", _line(offset), None, k))
        k = key()
        minutes = _record(ds, k, **{ts: "2026-03-01T12:00Z"})
        out.append(Case("timestamp without seconds", _line(minutes), None, k))
    if ds.integer_range:
        name, value = ds.integer_range
        out.append(
            Case("out of range", _line(_record(ds, key(), **{name: value})), f"out_of_range:{name}")
        )
    padded = _record(ds, key(), padding="x" * MAX_RECORD_BYTES)
    out.append(Case("oversized record", _line(padded), "oversized_record"))
    latin1 = json.dumps(_record(ds, key(), comment="café"), ensure_ascii=False).encode("latin-1")
    out.append(Case("non-UTF-8 bytes", latin1, "invalid_utf8"))
    return out


GZ_KEYS = {"attempts": ["gz1", "gz2"]}


def write_raw(lake: Lake, ds: Dataset, day: dt.date) -> int:
    """The cases in one plain file, two valid lines gzipped, and an empty file; returns the
    number of lines written (counted from the bytes)."""
    folder = lake.raw(ds.raw, day)
    os.makedirs(folder, exist_ok=True)
    body = b"\n".join(c.line for c in cases(ds)) + b"\n"
    with open(os.path.join(folder, "part-0.jsonl"), "wb") as handle:
        handle.write(body)
    gz_lines = b"\n".join(_line(_record(ds, k)) for k in gz_keys(ds)) + b"\n"
    with open(os.path.join(folder, "part-1.jsonl.gz"), "wb") as handle:
        handle.write(gzip.compress(gz_lines))
    open(os.path.join(folder, "part-2.jsonl"), "wb").close()
    return body.count(b"\n") + gz_lines.count(b"\n")


def gz_keys(ds: Dataset) -> list[Any]:
    return [900, 901] if ds.integer_key else ["gz-900", "gz-901"]


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """One lake; every dataset's cases landed for DAY; every job run once."""
    root = str(tmp_path_factory.mktemp("bad-input") / "lake")
    settings = Settings(
        LAKE_ROOT=root, MAX_RECORD_BYTES=MAX_RECORD_BYTES, SPARK_SHUFFLE_PARTITIONS=2
    )
    lake = Lake.from_settings(settings)
    written = {name: write_raw(lake, ds, DAY) for name, ds in DATASETS.items()}
    results = {
        "attempts": notification_attempted.run(settings, lake, DAY),
        "receipts": notification_delivered.run(settings, lake, DAY),
        "experiences": outcome_experience_lookup.run(settings, lake, DAY),
        "social": social_curation.run(settings, lake, DAY),
    }
    return lake, written, results


def read(path: str, columns: str) -> list[tuple]:
    return (
        duckdb.connect()
        .execute(f"select {columns} from read_parquet('{path}/*.parquet')")
        .fetchall()
    )


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_case_is_accepted_or_quarantined_with_its_reason(processed, name):
    lake, written, _ = processed
    ds = DATASETS[name]
    expected = cases(ds)
    accepted = {row[0] for row in read(lake.curated(ds.table, DAY), ds.key)}
    rows = read(lake.quarantine(ds.table, DAY), "raw_line, reason, raw_bytes")
    quarantined = [(line, reason) for line, reason, _ in rows]

    want_accepted = {c.key for c in expected if c.reason is None} | set(gz_keys(ds))
    assert accepted == want_accepted  # nothing valid lost, nothing invalid let in
    assert Counter(r for _, r in quarantined) == Counter(c.reason for c in expected if c.reason)
    for case in expected:
        if case.reason == "invalid_utf8":  # kept byte for byte, and readable with U+FFFD
            text = case.line.decode("utf-8", errors="replace")
            assert (text, "invalid_utf8", case.line) in rows
        elif case.reason:
            assert (case.line.decode(), case.reason, None) in rows, case.name
    assert len(accepted) + len(quarantined) == written[name]  # input = accepted + quarantined


def test_sql_ish_text_is_stored_verbatim_and_the_pii_is_hashed(processed):
    lake, _, _ = processed
    rows = read(lake.curated("notification_attempts", DAY), "notification_id, destination_hash")
    # Every case carries the same destination; its hash worked out here with hashlib.
    salted = (LOCAL_PII_SALT + DATASETS["attempts"].valid["destination"]).encode()
    assert {h for _, h in rows} == {hashlib.sha256(salted).hexdigest()}
    assert SQL_ISH in {i for i, _ in rows}
    columns = (
        duckdb.connect()
        .execute(
            f"describe select * from read_parquet('{lake.curated('notification_attempts', DAY)}/*.parquet')"
        )
        .fetchall()
    )
    assert "destination" not in {c[0] for c in columns}


def test_job_counts_reconcile_with_the_lines_on_disk(processed):
    _, written, results = processed
    assert results["attempts"].rows_in == written["attempts"]
    assert results["receipts"].rows_in == written["receipts"]
    social = ("events", "orders", "users", "likes", "listens")
    assert results["social"].rows_in == sum(written[n] for n in social)


LISTINGS_LINES = [
    "id,name,host_id,neighbourhood,room_type,price,minimum_nights,number_of_reviews,availability_365,last_review",
    '1,Loft,10,Camden,Entire home/apt,"$1,234.50",2,10,100,2026-01-02',
    f"2,{SQL_ISH.replace(',', '')},11,Camden,Private room,$80.00,1,0,0,",
    "3,Sentinel,12,Hackney,Private room,$80.00,1,0,0,9999-12-31",
    "4,Negative,13,Hackney,Private room,$80.00,0,0,0,",
    "5,Short,14",
]
LISTINGS_REASONS = {
    3: "out_of_range:last_review",
    4: "out_of_range:minimum_nights",
    5: "malformed_csv",
}


def test_listings_csv_bad_rows_bytes_and_empty_files(tmp_path):
    settings = Settings(LAKE_ROOT=str(tmp_path / "lake"), SPARK_SHUFFLE_PARTITIONS=2)
    lake = Lake.from_settings(settings)
    folder = lake.raw("listings", DAY)
    os.makedirs(folder)
    body = "\n".join(LISTINGS_LINES).encode() + b"\n"
    latin1 = "6,Caf\xe9,15,Camden,Private room,$10,1,1,1,2025-01-01\n".encode("latin-1")
    with open(os.path.join(folder, "listings.csv"), "wb") as handle:
        handle.write(body + latin1)
    open(os.path.join(folder, "empty.csv"), "wb").close()

    result = listings_postprocessing.run(settings, lake, DAY)

    accepted = read(lake.curated("listings", DAY), "id, name")
    quarantined = read(lake.quarantine("listings", DAY), "raw_line, reason")
    assert (
        "6,Caf\ufffd,15,Camden,Private room,$10,1,1,1,2025-01-01",
        "invalid_utf8",
    ) in quarantined
    assert sorted(accepted) == [(1, "Loft"), (2, SQL_ISH.replace(",", ""))]
    assert sorted(r for _, r in quarantined) == sorted([*LISTINGS_REASONS.values(), "invalid_utf8"])
    for number, reason in LISTINGS_REASONS.items():
        assert (LISTINGS_LINES[number], reason) in quarantined
    assert result.rows_in == len(LISTINGS_LINES) - 1 + 1  # records, less the header, plus Café


def test_a_truncated_gzip_file_is_one_clear_error_and_the_published_day_stays(tmp_path):
    settings = Settings(LAKE_ROOT=str(tmp_path / "lake"), SPARK_SHUFFLE_PARTITIONS=2)
    lake = Lake.from_settings(settings)
    ds = DATASETS["attempts"]
    folder = lake.raw(ds.raw, DAY)
    os.makedirs(folder)
    with open(os.path.join(folder, "a.jsonl"), "wb") as handle:
        handle.write(_line(_record(ds, "n1")) + b"\n")
    notification_attempted.run(settings, lake, DAY)
    before = digest_tree(lake.curated(ds.table, DAY))

    whole = gzip.compress(b"\n".join(_line(_record(ds, f"z{i}")) for i in range(500)) + b"\n")
    bad = os.path.join(folder, "b.jsonl.gz")
    with open(bad, "wb") as handle:
        handle.write(whole[: len(whole) // 2])
    with pytest.raises(UnreadableInputError) as raised:
        notification_attempted.run(settings, lake, DAY)

    message = str(raised.value)
    assert "\n" not in message and bad in message and "nothing was published" in message
    assert digest_tree(lake.curated(ds.table, DAY)) == before
    assert not os.path.exists(lake.scratch(ds.table, DAY))

    with open(bad, "wb") as handle:  # the complete file delivered again
        handle.write(whole)
    assert notification_attempted.run(settings, lake, DAY).rows_out == 501


@pytest.mark.parametrize(
    ("good", "duplicated", "bad"),
    [(3, 1, 2), (0, 0, 4), (5, 0, 0)],
    ids=["mixed", "every line bad", "every line good"],
)
def test_the_counts_are_the_rows_written(tmp_path, good, duplicated, bad):
    """rows_out and quarantined are counted as the partitions are written: they equal the rows
    of the Parquet files on disk, empty sides included (worked by hand: a duplicate line is one
    more quarantined row)."""
    import pyarrow.parquet as pq

    settings = Settings(LAKE_ROOT=str(tmp_path / "lake"), SPARK_SHUFFLE_PARTITIONS=2)
    lake = Lake.from_settings(settings)
    ds = DATASETS["attempts"]
    lines = [_line(_record(ds, f"g{i}")) for i in range(good)]
    lines += lines[:duplicated]
    lines += [b"{not json" for _ in range(bad)]
    folder = lake.raw(ds.raw, DAY)
    os.makedirs(folder)
    with open(os.path.join(folder, "a.jsonl"), "wb") as handle:
        handle.write(b"\n".join(lines) + b"\n")

    result = notification_attempted.run(settings, lake, DAY)

    def on_disk(path: str) -> int:
        return sum(pq.read_metadata(p).num_rows for p in Path(path).glob("*.parquet"))

    assert (result.rows_out, result.quarantined) == (good, duplicated + bad)
    assert result.rows_in == len(lines)
    assert on_disk(lake.curated(ds.table, DAY)) == good
    assert on_disk(lake.quarantine(ds.table, DAY)) == duplicated + bad
