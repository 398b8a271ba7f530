"""Load files dropped under incoming/<table>/ into the warehouse: validate, then upsert on the key."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ingestion.tables import TABLES, Column, TableSpec
from ingestion.warehouse import IncomingObject, LoadResult, Warehouse
from orchestration.core.errors import InputError
from orchestration.core.lake import split_s3_uri
from orchestration.core.time_bounds import PLAUSIBLE_YEARS, is_plausible_time


class LoadError(InputError, ValueError):
    """A file that cannot be loaded; the message names the file, line and problem."""


TRUE_TEXT = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}


def parse_value(column: Column, text: str) -> Any:
    """Convert one CSV cell; raises ValueError with a short reason."""
    if text == "":
        if column.required:
            raise ValueError(f"{column.name} is empty")
        return None
    if column.kind == "bool":
        if text.lower() not in TRUE_TEXT:
            raise ValueError(f"{column.name}={text!r} is not true/false")
        return TRUE_TEXT[text.lower()]
    if column.kind == "timestamp":
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{column.name}={text!r} is not an ISO-8601 timestamp") from None
        if value.tzinfo is None:
            raise ValueError(f"{column.name}={text!r} has no Z or offset")
        utc = value.astimezone(dt.UTC).replace(tzinfo=None)
        if not is_plausible_time(utc):
            raise ValueError(f"{column.name}={text!r} is outside {PLAUSIBLE_YEARS}")
        return utc
    return text


def read_rows(path: str, spec: TableSpec) -> list[tuple[Any, ...]]:
    """Parse and validate a whole CSV file, or raise LoadError naming the first problem."""
    name = os.path.basename(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header != spec.header:
                raise LoadError(
                    f"{name}: line 1: header {header} does not match {','.join(spec.header)}"
                )
            rows, seen = [], {}
            key_index = spec.header.index(spec.key)
            for record in reader:
                line = reader.line_num
                if len(record) != len(spec.columns):
                    raise LoadError(
                        f"{name}: line {line}: {len(record)} fields, expected {len(spec.columns)}"
                    )
                try:
                    row = tuple(
                        parse_value(c, v) for c, v in zip(spec.columns, record, strict=True)
                    )
                except ValueError as err:
                    raise LoadError(f"{name}: line {line}: {err}") from None
                if row[key_index] in seen:
                    raise LoadError(
                        f"{name}: line {line}: duplicate {spec.key} {row[key_index]!r} "
                        f"(first on line {seen[row[key_index]]})"
                    )
                seen[row[key_index]] = line
                rows.append(row)
    except UnicodeDecodeError as err:
        raise LoadError(f"{name}: not UTF-8 text ({err.reason})") from None
    except csv.Error as err:
        raise LoadError(f"{name}: unreadable CSV: {err}") from None
    return rows


def file_checksum(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_for(path: str) -> tuple[str, TableSpec]:
    """The folder and table a file feeds, from its place: .../incoming/<table>/<file>."""
    if not path.startswith("s3://"):
        path = os.path.abspath(path)
    parts = path.rstrip("/").split("/")
    if any(part in (".", "..") for part in parts[3:]):
        # An S3 key is not normalised: `incoming/customers/../x` is not in incoming/customers/.
        raise LoadError(f"{path}: a key with '.' or '..' segments; name the object by its real key")
    folder = parts[-2] if len(parts) >= 2 else ""
    if folder not in TABLES:
        known = ", ".join(sorted(TABLES))
        raise LoadError(f"{path}: not under incoming/<table>/ for a known table ({known})")
    return folder, TABLES[folder]


@contextmanager
def fetched(path_or_uri: str, folder: str) -> Iterator[IncomingObject]:
    """The object to load (from incoming/<folder>/) as a local file: a local path as is, an
    s3:// object downloaded (its ETag identifies it in the load manifest)."""
    name = path_or_uri.rstrip("/").split("/")[-1]
    object_key = f"incoming/{folder}/{name}"
    if not path_or_uri.startswith("s3://"):
        if not os.path.isfile(path_or_uri):
            raise LoadError(f"{path_or_uri}: no such file")
        yield IncomingObject(path_or_uri, object_key, file_checksum(path_or_uri))
        return
    import boto3
    from botocore.exceptions import ClientError

    bucket, key = split_s3_uri(path_or_uri)
    s3 = boto3.client("s3")
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, name)
        try:
            etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
            s3.download_file(bucket, key, local)
        except ClientError as err:
            raise LoadError(
                f"{path_or_uri}: cannot read ({err.response['Error']['Code']})"
            ) from None
        yield IncomingObject(local, object_key, etag, s3_uri=path_or_uri)


def load(path_or_uri: str, warehouses: Sequence[Warehouse]) -> list[LoadResult]:
    """Validate one incoming file, then load it into every warehouse (each in one transaction).

    The whole file is validated before any warehouse is touched: a bad file changes nothing.
    """
    folder, spec = table_for(path_or_uri)
    with fetched(path_or_uri, folder) as obj:
        rows = read_rows(obj.local_path, spec)
        return [warehouse.load(spec, obj, rows) for warehouse in warehouses]
