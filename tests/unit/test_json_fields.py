"""`json_fields`, the jobs' Java function that reads a JSON line's contract fields in one pass
(spark_jobs/jvm), against hand-worked expectations and against the Spark built-ins it replaced
(parse the line as a variant, then each field's type and text)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F

from orchestration.core.lake import Lake
from orchestration.devtools.generate import GenerateOptions, generate
from spark_jobs.common.contracts import NOTIFICATION_ATTEMPTED
from spark_jobs.common.functions import json_fields

pytestmark = pytest.mark.spark

NAMES = ("a", "b")
ABSENT = (None, None)

# line → ((type, text) of a, (type, text) of b), or None: not one well-formed JSON value.
CASES = {
    '{"a":"x","b":1}': (("string", "x"), ("integer", "1")),
    '  {"b": -0, "a": "y"}  ': (("string", "y"), ("integer", "0")),
    '{"a":null}': (("null", None), ABSENT),
    '{"a":1.5,"b":1e2}': (("other", None), ("other", None)),
    '{"a":true,"b":false}': (("other", None), ("other", None)),
    '{"a":{"b":1},"z":[{"a":2}]}': (("other", None), ABSENT),  # nested names are not fields
    '{"a":[1, "x"]}': (("other", None), ABSENT),
    '{"b":9223372036854775807}': (ABSENT, ("integer", "9223372036854775807")),
    '{"b":-9223372036854775808}': (ABSENT, ("integer", "-9223372036854775808")),
    '{"b":9223372036854775808}': (ABSENT, ("other", None)),  # beyond 64 bits
    '{"a":"\\u00e9\\n\\"q\\""}': (("string", 'é\n"q"'), ABSENT),
    '{"a":""}': (("string", ""), ABSENT),
    '{"c":{"a":1},"a":"top"}': (("string", "top"), ABSENT),
    '{"A":"x"}': (ABSENT, ABSENT),  # names are case-sensitive
    "{}": (ABSENT, ABSENT),
    "[1, 2]": (ABSENT, ABSENT),  # well-formed, not an object (the validator says so)
    '"a"': (ABSENT, ABSENT),
    "": None,
    "   ": None,
    '{"a":1': None,
    '{"a":01}': None,
    '{"a":NaN}': None,
    "{'a':1}": None,
    '{"a":1,}': None,
    '{"a":"\t"}': None,  # a raw control character inside a string
    '{"a":1,"a":2}': None,  # a duplicate name ...
    '{"c":{"x":1,"x":2}}': None,  # ... at any depth
}
# Spark's variant parser reads the first JSON value and ignores what follows it: two records
# written on one line kept the first and lost the second without a word. json_fields refuses
# them (malformed_json, quarantined whole).
TRAILING = {
    '{"a":"x"} x': None,
    '{"a":"x"}{"a":"y"}': None,
    "1 2": None,
}


def read(spark, lines: list[str], names: tuple[str, ...] = NAMES) -> dict[str, tuple | None]:
    """line → ((type, text) of each name), or None."""
    frame = spark.createDataFrame([(line,) for line in lines], "value string")
    rows = frame.select("value", json_fields(F.col("value"), names).alias("f")).collect()
    return {
        r["value"]: None if r["f"] is None else tuple(zip(r["f"][0::2], r["f"][1::2], strict=True))
        for r in rows
    }


def test_types_and_texts_of_the_named_fields(spark):
    assert read(spark, list(CASES | TRAILING)) == CASES | TRAILING


def _builtin_type(schema: str | None) -> str | None:
    """schema_of_variant's name of a JSON value's type, in json_fields' terms."""
    if schema is None:
        return None
    return {"STRING": "string", "BIGINT": "integer", "VOID": "null"}.get(schema, "other")


def builtin_read(spark, lines: list[str], names: tuple[str, ...]) -> dict[str, tuple | None]:
    """The same reading with Spark's variant functions: what the validator did before."""
    frame = spark.createDataFrame([(line,) for line in lines], "value string")
    parsed = frame.select("value", F.try_parse_json("value").alias("v"))
    columns = []
    for i, name in enumerate(names):
        columns.append(F.expr(f"schema_of_variant(try_variant_get(v, '$.{name}'))").alias(f"t{i}"))
        columns.append(F.expr(f"try_variant_get(v, '$.{name}', 'string')").alias(f"s{i}"))
    out = {}
    for r in parsed.select("value", F.col("v").isNull().alias("bad"), *columns).collect():
        if r["bad"]:
            out[r["value"]] = None
            continue
        fields = []
        for i in range(len(names)):
            kind = _builtin_type(r[f"t{i}"])
            fields.append((kind, r[f"s{i}"] if kind in ("string", "integer") else None))
        out[r["value"]] = tuple(fields)
    return out


def test_agrees_with_the_variant_builtins_but_for_trailing_content(spark):
    assert read(spark, list(CASES)) == builtin_read(spark, list(CASES), NAMES)
    # The difference, shown: the built-ins read these lines as if they ended after the value.
    assert all(v is not None for v in builtin_read(spark, list(TRAILING), NAMES).values())


def test_agrees_with_the_variant_builtins_on_a_generated_day(spark, tmp_path):
    """Generated attempts with the generator's anomalies (truncated lines, wrong types, ...)."""
    day = dt.date(2026, 10, 28)
    lake = Lake(str(tmp_path / "lake"))
    generate(lake, GenerateOptions(day, days=1, scale=3000, seed=5, anomaly_rate=0.2))
    lines = [
        r["value"]
        for r in spark.read.text(str(tmp_path / "lake" / "raw" / "notifications" / "attempted"))
        .distinct()
        .collect()
    ]
    names = tuple(f.name for f in NOTIFICATION_ATTEMPTED.fields)
    ours = read(spark, lines, names)
    assert len(ours) > 2500
    assert ours == builtin_read(spark, lines, names)
    # The day's anomalies are there to be read: truncated lines, a number for a client id.
    assert None in ours.values()
    assert any(fields and fields[1][0] == "integer" for fields in ours.values())


def test_a_name_with_a_comma_is_refused(spark):
    with pytest.raises(ValueError, match="comma"):
        json_fields(F.col("value"), ("a,b",))


def test_records_written_on_one_line_are_malformed(spark):
    from spark_jobs.common.job import check

    two = json.dumps({"notification_id": "n1"}) + json.dumps({"notification_id": "n2"})
    frame = spark.createDataFrame([(two, "f.jsonl")], "value string, source_file string")
    reasons = [r["_reason"] for r in check(frame, NOTIFICATION_ATTEMPTED, 65536).collect()]
    assert reasons == ["malformed_json"]
