"""`iso_timestamp`, the jobs' Java function that reads an ISO-8601 timestamp with a zone as its
UTC wall clock (spark_jobs/jvm), against hand-worked expectations and, over thousands of
generated and mutated texts, against the Spark built-ins it replaced: the pattern checked by a
regular expression, then `try_to_timestamp` cast to TIMESTAMP_NTZ in the session's UTC.

One difference is intended: the pattern lets the seconds out (`2026-01-02T03:04Z`, valid
ISO-8601), but `try_to_timestamp` refused every such text, so they were quarantined as
bad timestamps. iso_timestamp reads them as the same text with `:00` seconds."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from pyspark.sql import functions as F

from spark_jobs.common.functions import iso_timestamp

pytestmark = pytest.mark.spark

# The contract's pattern (DESIGN §4), as the jobs checked it before iso_timestamp.
PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$"

T = dt.datetime
# text → the UTC wall clock it denotes, or None (worked by hand).
CASES = {
    "2026-01-02T03:04:05Z": T(2026, 1, 2, 3, 4, 5),
    "2026-01-02 03:04:05Z": T(2026, 1, 2, 3, 4, 5),
    "2026-01-02T03:04Z": T(2026, 1, 2, 3, 4),
    "2026-01-02T03:04:05.5Z": T(2026, 1, 2, 3, 4, 5, 500000),
    "2026-01-02T03:04:05.123456789Z": T(2026, 1, 2, 3, 4, 5, 123456),  # beyond µs: dropped
    "2026-01-02T03:04:05.000001Z": T(2026, 1, 2, 3, 4, 5, 1),
    "2026-01-02T03:04:05+02:00": T(2026, 1, 2, 1, 4, 5),
    "2026-01-02T03:04:05+0200": T(2026, 1, 2, 1, 4, 5),
    "2026-01-02T03:04:05+02": T(2026, 1, 2, 1, 4, 5),
    "2026-01-01T00:30:00+05:45": T(2025, 12, 31, 18, 45),  # across a year
    "2026-12-31T23:00:00-01:30": T(2027, 1, 1, 0, 30),
    "2026-01-02T03:04:05-00:00": T(2026, 1, 2, 3, 4, 5),
    "2026-01-02T03:04:05+18:00": T(2026, 1, 1, 9, 4, 5),
    "2024-02-29T12:00:00Z": T(2024, 2, 29, 12),  # a leap day
    "2000-02-29T12:00:00Z": T(2000, 2, 29, 12),
    "0001-01-01T00:00:00Z": T(1, 1, 1),
    "2023-02-29T12:00:00Z": None,  # no such day
    "1900-02-29T12:00:00Z": None,
    "2026-04-31T00:00:00Z": None,
    "2026-13-01T00:00:00Z": None,
    "2026-00-10T00:00:00Z": None,
    "2026-01-00T00:00:00Z": None,
    "2026-01-02T24:00:00Z": None,
    "2026-01-02T23:60:00Z": None,
    "2026-01-02T23:59:60Z": None,  # no leap second
    "2026-01-02T03:04:05+18:01": None,  # offsets end at 18 hours
    "2026-01-02T03:04:05+19:00": None,
    "2026-01-02T03:04:05+02:60": None,
    "2026-01-02T03:04:05": None,  # no zone
    "2026-01-02": None,
    "2026-01-02T03:04:05z": None,
    "2026-01-02t03:04:05Z": None,
    "2026-01-02T03:04:05.Z": None,
    "2026-01-02T03:04:05.1234567890Z": None,  # ten digits
    "2026-01-02T03:04.5Z": None,
    "2026-01-02T03:04:05+02:": None,
    "2026-01-02T03:04:05+2:00": None,
    "2026-01-02T03:04:05 +02:00": None,
    " 2026-01-02T03:04:05Z": None,
    "2026-01-02T03:04:05Z ": None,
    "2026-1-02T03:04:05Z": None,
    "26-01-02T03:04:05Z": None,
    "２026-01-02T03:04:05Z": None,  # a full-width digit
    "2026-01-02T03:04:05ZZ": None,
    "": None,
}


def read(spark, texts: list[str | None], expression) -> dict[str | None, dt.datetime | None]:
    frame = spark.createDataFrame([(t,) for t in texts], "text string")
    return {r["text"]: r["ts"] for r in frame.select("text", expression.alias("ts")).collect()}


def builtin(text):
    """What the jobs computed before iso_timestamp."""
    return F.when(text.rlike(PATTERN), F.try_to_timestamp(text)).cast("timestamp_ntz")


def test_hand_worked_cases(spark):
    texts = [*CASES, None]
    assert read(spark, texts, iso_timestamp(F.col("text"))) == {**CASES, None: None}


def _generated(rng: random.Random) -> str:
    """A text in the contract's shape with any digits: most of them are no real instant."""

    def digits(count: int, top: int) -> str:
        return str(rng.randrange(top)).zfill(count)

    text = (
        f"{digits(4, 10000)}-{digits(2, 14)}-{digits(2, 33)}{rng.choice('T ')}"
        f"{digits(2, 25)}:{digits(2, 61)}"
    )
    if rng.random() < 0.8:
        text += ":" + digits(2, 61)
        if rng.random() < 0.5:
            text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))
    zone = rng.choice(["Z", "Z", "+", "-"])
    if zone != "Z":
        zone += digits(2, 20) + rng.choice(["", ":" + digits(2, 61), digits(2, 61)])
    return text + zone


def _mutated(rng: random.Random, text: str) -> str:
    """`text` with one character deleted, replaced or inserted."""
    at = rng.randrange(len(text) + 1)
    char = rng.choice("0123456789:-+.TZ z\u0661")
    kind = rng.choice(["delete", "replace", "insert"])
    if kind == "delete" and at < len(text):
        return text[:at] + text[at + 1 :]
    if kind == "replace" and at < len(text):
        return text[:at] + char + text[at + 1 :]
    return text[:at] + char + text[at:]


# A text whose minutes are followed by its zone: no seconds.
NO_SECONDS = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?=[Z+-])")


def with_seconds(text: str) -> str:
    """`text` with `:00` seconds when it has none."""
    return NO_SECONDS.sub(lambda m: m.group(0) + ":00", text)


def test_agrees_with_the_spark_builtins_it_replaced(spark):
    rng = random.Random(20261206)
    generated = [_generated(rng) for _ in range(4000)]
    texts = list(dict.fromkeys([*CASES, *generated, *(_mutated(rng, t) for t in generated)]))
    ours = read(spark, texts, iso_timestamp(F.col("text")))
    theirs = read(spark, [with_seconds(t) for t in texts], builtin(F.col("text")))
    assert ours == {t: theirs[with_seconds(t)] for t in texts}
    # The built-ins refused a text without seconds, which the pattern accepts.
    assert read(spark, ["2026-01-02T03:04Z"], builtin(F.col("text"))) == {"2026-01-02T03:04Z": None}
    # The comparison covers both outcomes, in numbers.
    assert sum(v is not None for v in theirs.values()) > 1000
    assert sum(v is None for v in theirs.values()) > 1000
