"""Validation of raw JSON lines against a contract, dedupe, and the split into lake / quarantine."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from orchestration.core.time_bounds import EARLIEST_TIME, LATEST_TIME
from spark_jobs.common.contracts import Contract, FieldSpec
from spark_jobs.common.functions import iso_timestamp, json_fields


def _type_col(field: FieldSpec) -> str:
    return f"_type_{field.name}"


def _text_col(field: FieldSpec) -> str:
    return f"_text_{field.name}"


def extract_fields(lines: DataFrame, contract: Contract, max_record_bytes: int) -> DataFrame:
    """Read each line's contract fields in one pass (`json_fields`): their JSON types and texts,
    and whether the line was well-formed JSON (an oversized line is not read)."""
    names = tuple(f.name for f in contract.fields)
    read = F.when(F.octet_length("value") <= max_record_bytes, json_fields(F.col("value"), names))
    parsed = lines.select("value", "source_file", read.alias("_fields"))
    extracted = []
    for i, field in enumerate(contract.fields):
        extracted.append(F.col("_fields")[2 * i].alias(_type_col(field)))
        extracted.append(F.col("_fields")[2 * i + 1].alias(_text_col(field)))
    unparsed = F.col("_fields").isNull().alias("_unparsed")
    return parsed.select("value", "source_file", unparsed, *extracted)


def _field_problems(field: FieldSpec) -> list[tuple[Column, str]]:
    """(condition, reason) pairs for one field, in the order they are reported."""
    vtype, text = F.col(_type_col(field)), F.col(_text_col(field))
    absent = vtype.isNull() | (vtype == "null")
    checks: list[tuple[Column, str]] = []
    if field.required:
        checks.append((absent, f"missing_field:{field.name}"))
    json_type = "integer" if field.kind == "integer" else "string"
    checks.append((~absent & (vtype != json_type), f"wrong_type:{field.name}"))
    if field.kind == "enum":
        checks.append((~absent & ~text.isin(*field.values), f"unknown_value:{field.name}"))
    if field.kind == "timestamp":
        checks.append((~absent & F.col(field.name).isNull(), f"bad_timestamp:{field.name}"))
    return checks + _range_problems(field, F.col(field.name))


def _range_problems(field: FieldSpec, typed: Column) -> list[tuple[Column, str]]:
    """An integer field's bounds, or a timestamp's or date's plausible years (a null value is in
    range)."""
    checks: list[tuple[Column, str]] = []
    if field.kind in ("timestamp", "date"):
        # A valid calendar value nobody meant (year 1 or 9999: a sentinel, a unit mix-up).
        outside = (typed < F.lit(EARLIEST_TIME)) | (typed >= F.lit(LATEST_TIME))
        checks.append((outside, f"out_of_range:{field.name}"))
    if field.minimum is not None:
        checks.append((typed < field.minimum, f"out_of_range:{field.name}"))
    if field.maximum is not None:
        checks.append((typed > field.maximum, f"out_of_range:{field.name}"))
    return checks


def _line_problems(max_record_bytes: int) -> list[tuple[Column, str]]:
    """Problems of the raw line itself, before its fields are looked at."""
    return [
        (F.octet_length("value") > max_record_bytes, "oversized_record"),
        # Spark keeps a line's bytes as they are: bytes that are not UTF-8 (a file written as
        # Latin-1, a binary blob) would reach the lake as text nobody can read back.
        (~F.is_valid_utf8("value"), "invalid_utf8"),
    ]


def rejection_reason(contract: Contract, max_record_bytes: int) -> Column:
    """The first contract violation of a line whose fields were extracted, or null."""
    checks: list[tuple[Column, str]] = [
        *_line_problems(max_record_bytes),
        (F.col("_unparsed"), "malformed_json"),
        (~F.ltrim(F.col("value")).startswith("{"), "not_a_json_object"),
    ]
    for field in contract.fields:
        checks.extend(_field_problems(field))
    return first_failing(checks)


def first_failing(checks: list[tuple[Column, str]]) -> Column:
    """The reason of the first (condition, reason) pair whose condition holds, else null."""
    reason = F.lit(None).cast("string")
    for condition, text in reversed(checks):
        reason = F.when(condition, F.lit(text)).otherwise(reason)
    return reason


def _typed(field: FieldSpec) -> Column:
    text = F.col(_text_col(field))
    if field.kind == "timestamp":
        # ISO-8601 with a mandatory Z or offset (§4), stored as its UTC wall-clock (a timestamp
        # without time zone).
        return iso_timestamp(text).alias(field.name)
    if field.kind == "integer":
        return F.when(F.col(_type_col(field)) == "integer", text.try_cast("bigint")).alias(
            field.name
        )
    return text.alias(field.name)


def validate(lines: DataFrame, contract: Contract, max_record_bytes: int) -> DataFrame:
    """Raw lines (`value`, `source_file`) → typed contract columns plus `_reason` (null = valid)."""
    fields = extract_fields(lines, contract, max_record_bytes)
    typed = fields.select("*", *[_typed(f) for f in contract.fields])
    return typed.select(
        "value",
        "source_file",
        rejection_reason(contract, max_record_bytes).alias("_reason"),
        *[f.name for f in contract.fields],
    )


def mark_duplicates(validated: DataFrame, contract: Contract) -> DataFrame:
    """Flag all but one copy of each key among valid rows; the kept copy is chosen deterministically."""
    order = [
        F.col(c[1:]).desc_nulls_last() if c.startswith("-") else F.col(c).asc_nulls_last()
        for c in contract.keep_first_by
    ]
    is_valid = F.col("_reason").isNull()
    window = Window.partitionBy(is_valid, *contract.key).orderBy(*order, F.col("value"))
    rank = F.when(is_valid, F.row_number().over(window))
    duplicate = F.lit("duplicate:" + "+".join(contract.key))
    return validated.withColumn("_reason", F.when(rank > 1, duplicate).otherwise(F.col("_reason")))


def accepted(checked: DataFrame, contract: Contract) -> DataFrame:
    """Rows that passed every check, with the contract's columns only."""
    return checked.where(F.col("_reason").isNull()).select(*[f.name for f in contract.fields])


def rejected(checked: DataFrame) -> DataFrame:
    """Quarantine rows: the original text, why it was rejected, and where it came from."""
    utf8 = F.is_valid_utf8("value")
    return checked.where(F.col("_reason").isNotNull()).select(
        # Readable text for every reader (bytes that are not UTF-8 shown as U+FFFD) ...
        F.make_valid_utf8("value").alias("raw_line"),
        F.col("_reason").alias("reason"),
        "source_file",
        # ... and, only where that lost something, the line's exact bytes.
        F.when(~utf8, F.col("value").cast("binary")).alias("raw_bytes"),
    )


# --- CSV lines (a header line, then one record per line; quoted fields may hold commas) --------

# A comma outside double quotes: followed by an even number of quotes up to the end of the line.
_CSV_SEPARATOR = r',(?=(?:[^"]*"[^"]*")*[^"]*$)'
_INTEGER = r"^-?\d{1,18}$"
# "$1,234.50", "1234.5", "$85": a currency sign, thousands separators and cents are optional.
_MONEY = r"^\$?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _csv_typed(field: FieldSpec, text: Column) -> Column:
    if field.kind == "integer":
        return F.when(text.rlike(_INTEGER), text.try_cast("bigint"))
    if field.kind == "money":
        digits = F.regexp_replace(text, r"[$,]", "")
        return F.when(text.rlike(_MONEY), digits.try_cast("decimal(12,2)"))
    if field.kind == "date":
        return F.when(text.rlike(_DATE), F.try_to_timestamp(text, F.lit("yyyy-MM-dd")).cast("date"))
    if field.kind == "timestamp":
        return iso_timestamp(text)
    return text


def _csv_field_problems(field: FieldSpec, text: Column, typed: Column) -> list[tuple[Column, str]]:
    absent = text.isNull()
    checks: list[tuple[Column, str]] = []
    if field.required:
        checks.append((absent, f"missing_field:{field.name}"))
    if field.kind == "enum":
        checks.append((~absent & ~text.isin(*field.values), f"unknown_value:{field.name}"))
    if field.kind in ("integer", "money"):
        checks.append((~absent & typed.isNull(), f"wrong_type:{field.name}"))
    if field.kind in ("date", "timestamp"):
        checks.append((~absent & typed.isNull(), f"bad_{field.kind}:{field.name}"))
    return checks + _range_problems(field, typed)


def validate_csv(lines: DataFrame, contract: Contract, max_record_bytes: int) -> DataFrame:
    """CSV lines (`value`, `source_file`) → typed contract columns plus `_reason` (null = valid).

    Header lines are dropped; a line with another number of fields than the contract's is
    `malformed_csv`; empty fields are missing values.
    """
    schema = ", ".join(f"`{f.name}` string" for f in contract.fields)
    records = lines.where(F.trim("value") != contract.csv_header).select(
        "value",
        "source_file",
        F.size(F.split("value", _CSV_SEPARATOR)).alias("_fields"),
        F.from_csv("value", schema).alias("_csv"),
    )
    texts = {
        f.name: F.nullif(F.trim(F.col(f"_csv.`{f.name}`")), F.lit("")) for f in contract.fields
    }
    typed = records.select(
        "value",
        "source_file",
        "_fields",
        *[texts[f.name].alias(_text_col(f)) for f in contract.fields],
        *[_csv_typed(f, texts[f.name]).alias(f.name) for f in contract.fields],
    )
    checks: list[tuple[Column, str]] = [
        *_line_problems(max_record_bytes),
        (F.col("_fields") != len(contract.fields), "malformed_csv"),
    ]
    for field in contract.fields:
        checks.extend(_csv_field_problems(field, F.col(_text_col(field)), F.col(field.name)))
    return typed.select(
        "value",
        "source_file",
        first_failing(checks).alias("_reason"),
        *[f.name for f in contract.fields],
    )
