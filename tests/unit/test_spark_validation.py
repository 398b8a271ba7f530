"""The contract validation, dedupe and PII hashing of the Spark jobs, on hand-written lines."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from pyspark.testing import assertDataFrameEqual

from spark_jobs.common.contracts import EXPERIENCES, NOTIFICATION_ATTEMPTED, NOTIFICATION_DELIVERED
from spark_jobs.common.job import check
from spark_jobs.common.validation import accepted, rejected
from spark_jobs.notification_attempted import transform_attempts

pytestmark = pytest.mark.spark


def attempt(**overrides) -> str:
    record = {
        "notification_id": "n1",
        "client_id": "c1",
        "customer_id": "u1",
        "experience_id": "e1",
        "channel": "sms",
        "destination": "+447700900123",
        "attempted_at": "2026-01-10T10:00:00Z",
    }
    record.update(overrides)
    return json.dumps({k: v for k, v in record.items() if v is not ...})


def lines_df(spark, lines):
    return spark.createDataFrame(
        [(line, "f.jsonl") for line in lines], "value string, source_file string"
    )


def reasons(checked) -> dict[str, str | None]:
    return {r["value"]: r["_reason"] for r in checked.select("value", "_reason").collect()}


CASES = [
    (attempt(), None),
    (attempt(notification_id="n2", attempted_at="2026-01-10T12:00:00+02:00"), None),
    (attempt(notification_id="n3", destination=...), None),  # destination is optional
    (attempt(notification_id="n4")[:-5], "malformed_json"),
    ("[1, 2]", "not_a_json_object"),
    ("", "malformed_json"),
    (attempt(notification_id="n5", customer_id=...), "missing_field:customer_id"),
    (attempt(notification_id="n6", customer_id=None), "missing_field:customer_id"),
    (attempt(notification_id="n7", client_id=42), "wrong_type:client_id"),
    (attempt(notification_id="n8", channel="fax"), "unknown_value:channel"),
    (
        attempt(notification_id="n9", attempted_at="2026-02-30T10:00:00Z"),
        "bad_timestamp:attempted_at",
    ),
    (
        attempt(notification_id="n10", attempted_at="2026-01-10T10:00:00"),
        "bad_timestamp:attempted_at",
    ),
    (attempt(notification_id="n11", attempted_at="yesterday"), "bad_timestamp:attempted_at"),
    (attempt(notification_id="n12", destination="x" * 70_000), "oversized_record"),
    (
        attempt(notification_id="n13", attempted_at="9999-12-31T23:59:59Z"),
        "out_of_range:attempted_at",
    ),
    (
        attempt(notification_id="n14", attempted_at="0001-01-01T00:00:00Z"),
        "out_of_range:attempted_at",
    ),
    (attempt(notification_id="n15", attempted_at="2099-12-31T23:59:59Z"), None),
    (attempt(notification_id="n16", attempted_at="1999-12-31T23:30:00-01:00"), None),  # 2000 UTC
    # U+FFFD as a character or as a JSON escape is valid text (bytes that are not UTF-8 are
    # refused as invalid_utf8: tests/hardening/test_bad_input_spark_jobs.py).
    (
        json.dumps(
            json.loads(attempt(notification_id="n17", customer_id="Jos\ufffd")), ensure_ascii=False
        ),
        None,
    ),
    (attempt(notification_id="n18", customer_id="Jos\ufffd"), None),
    # ISO-8601 lets the seconds out (Spark's try_to_timestamp refused it: bad_timestamp).
    (attempt(notification_id="n19", attempted_at="2026-01-10T12:00+02:00"), None),
    (
        attempt(notification_id="n20", attempted_at="2026-01-10T12:00.5Z"),
        "bad_timestamp:attempted_at",
    ),
]


def test_each_contract_violation_gets_its_reason(spark):
    checked = check(lines_df(spark, [line for line, _ in CASES]), NOTIFICATION_ATTEMPTED, 65536)
    assert reasons(checked) == {line: reason for line, reason in CASES}


def test_duplicates_keep_the_earliest_copy_and_quarantine_the_rest(spark):
    early = attempt(attempted_at="2026-01-10T09:00:00Z")
    late = attempt(attempted_at="2026-01-10T11:00:00Z")
    checked = check(
        lines_df(spark, [late, early, early, attempt(notification_id=None)]),
        NOTIFICATION_ATTEMPTED,
        65536,
    ).cache()
    kept = accepted(checked, NOTIFICATION_ATTEMPTED).select("notification_id", "attempted_at")
    assertDataFrameEqual(kept, [("n1", dt.datetime(2026, 1, 10, 9, 0))], checkRowOrder=False)
    quarantined = sorted(r["reason"] for r in rejected(checked).collect())
    assert quarantined == [
        "duplicate:notification_id",
        "duplicate:notification_id",
        "missing_field:notification_id",
    ]


def test_timestamps_are_stored_as_utc(spark):
    texts = {
        "n1": "2026-01-31T23:30:00-02:00",
        "n2": "2026-01-31T23:30+0530",
        "n3": "2026-01-31 23:30:00.1234567Z",
    }
    lines = [attempt(notification_id=k, attempted_at=v) for k, v in texts.items()]
    checked = check(lines_df(spark, lines), NOTIFICATION_ATTEMPTED, 65536)
    rows = accepted(checked, NOTIFICATION_ATTEMPTED).collect()
    assert {r["notification_id"]: r["attempted_at"] for r in rows} == {
        "n1": dt.datetime(2026, 2, 1, 1, 30),
        "n2": dt.datetime(2026, 1, 31, 18, 0),
        "n3": dt.datetime(2026, 1, 31, 23, 30, 0, 123456),  # to the microsecond
    }


def test_destination_becomes_salted_sha256(spark):
    checked = check(
        lines_df(spark, [attempt(), attempt(notification_id="n2", destination=...)]),
        NOTIFICATION_ATTEMPTED,
        65536,
    )
    out = transform_attempts(accepted(checked, NOTIFICATION_ATTEMPTED), "pepper")
    assert "destination" not in out.columns
    expected = hashlib.sha256(b"pepper+447700900123").hexdigest()
    got = {r["notification_id"]: r["destination_hash"] for r in out.collect()}
    assert got == {"n1": expected, "n2": None}


def test_receipts_several_per_notification_exact_duplicates_once(spark):
    def receipt(status, at):
        return json.dumps({"notification_id": "n1", "status": status, "reported_at": at})

    lines = [
        receipt("failed", "2026-01-10T10:01:00Z"),
        receipt("delivered", "2026-01-10T10:05:00Z"),
        receipt("delivered", "2026-01-10T10:05:00Z"),
        receipt("lost", "2026-01-10T10:05:00Z"),
    ]
    checked = check(lines_df(spark, lines), NOTIFICATION_DELIVERED, 65536).cache()
    kept = accepted(checked, NOTIFICATION_DELIVERED).select("status", "reported_at")
    assertDataFrameEqual(
        kept,
        [
            ("failed", dt.datetime(2026, 1, 10, 10, 1)),
            ("delivered", dt.datetime(2026, 1, 10, 10, 5)),
        ],
        checkRowOrder=False,
    )
    assert sorted(r["reason"] for r in rejected(checked).collect()) == [
        "duplicate:notification_id+status+reported_at",
        "unknown_value:status",
    ]


def test_experience_snapshot_keeps_latest_update_per_experience(spark):
    def experience(outcome, updated):
        return json.dumps(
            {
                "experience_id": "e1",
                "client_id": "c1",
                "experience_name": "x",
                "outcome": outcome,
                "updated_at": updated,
            }
        )

    lines = [
        experience("survey", "2026-01-01T00:00:00Z"),
        experience("payment_due", "2026-01-05T00:00:00Z"),
    ]
    checked = check(lines_df(spark, lines), EXPERIENCES, 65536)
    kept = accepted(checked, EXPERIENCES).select("experience_id", "outcome")
    assertDataFrameEqual(kept, [("e1", "payment_due")])
