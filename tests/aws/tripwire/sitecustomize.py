"""Loaded by every process the emulated account starts (on its PYTHONPATH): a task that opens a
DuckDB database (a local-only file, DESIGN §6) records where in DUCKDB_TRIPWIRE and fails."""

import builtins
import os
import sys
import traceback

_import = builtins.__import__


def _tripped(*args, **kwargs):
    with open(os.environ["DUCKDB_TRIPWIRE"], "a", encoding="utf-8") as record:
        record.write(f"duckdb.connect{args!r}\n{''.join(traceback.format_stack())}\n")
    raise RuntimeError("an AWS task opened a DuckDB database")


def _watching_import(name, *args, **kwargs):
    module = _import(name, *args, **kwargs)
    duckdb = sys.modules.get("duckdb")
    connect = getattr(duckdb, "connect", None)  # None while duckdb is still initializing
    if connect is not None and connect is not _tripped:
        duckdb.connect = _tripped
    return module


if os.environ.get("DUCKDB_TRIPWIRE"):
    builtins.__import__ = _watching_import
