"""The jobs' own Spark SQL functions, written in Java (spark_jobs/jvm) and registered on every
session: what Spark's built-in expressions do at several times the cost per row.

`json_fields(line, 'a,b,c')` reads a JSON line's named top-level fields in one pass (Jackson's
streaming parser): null for a line that is not one well-formed JSON value, else an array holding,
for each name, its JSON type ("string", "integer", "null", "other"; null when absent) and its
text. Spark 4.1's variant functions did the same in 5.6-7.0 s per million attempt lines on one
core, this in 1.7 s (docs/benchmarks.md).

`iso_timestamp(text)` reads an ISO-8601 timestamp with a mandatory zone as the UTC wall clock it
denotes (TIMESTAMP_NTZ), null when it is not one: a regular expression and `try_to_timestamp`
did the same at ~0.5 s more per million lines, and ~1.5 s more in a fresh JVM (which also
refused the pattern's timestamps without seconds)."""

from __future__ import annotations

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, TimestampNTZType

JSON_FIELDS = "json_fields"
JSON_FIELDS_CLASS = "analytics.spark.JsonFields"
ISO_TIMESTAMP = "iso_timestamp"
ISO_TIMESTAMP_CLASS = "analytics.spark.IsoTimestamp"


def register_functions(spark: SparkSession) -> None:
    """Make the functions callable on `spark` (their jar is on its class path)."""
    spark.udf.registerJavaFunction(JSON_FIELDS, JSON_FIELDS_CLASS, ArrayType(StringType()))
    spark.udf.registerJavaFunction(ISO_TIMESTAMP, ISO_TIMESTAMP_CLASS, TimestampNTZType())


def json_fields(line: Column, names: tuple[str, ...]) -> Column:
    """[type of names[0], text of names[0], type of names[1], ...] of a JSON line, or null."""
    if any("," in name for name in names):
        raise ValueError(f"a field name holds a comma: {names}")
    return F.call_function(JSON_FIELDS, line, F.lit(",".join(names)))


def iso_timestamp(text: Column) -> Column:
    """The UTC wall clock (TIMESTAMP_NTZ) of an ISO-8601 timestamp with a mandatory zone, or
    null (IsoTimestamp.java gives the exact pattern)."""
    return F.call_function(ISO_TIMESTAMP, text)
