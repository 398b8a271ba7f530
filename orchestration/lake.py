"""Lake layout: the one place that knows where every zone and dataset lives (local or s3)."""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import Settings


def _join(root: str, *parts: str) -> str:
    cleaned = [p.strip("/") for p in parts if p]
    return "/".join([root.rstrip("/"), *cleaned]) if root != "/" else "/" + "/".join(cleaned)


@dataclass(frozen=True)
class Lake:
    """Paths of the zones of §3 under one root (a folder or an s3:// prefix)."""

    root: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        root = settings.lake_root
        if not root.startswith("s3://"):
            root = str(Path(root).expanduser().resolve())
        return cls(root)

    @property
    def is_local(self) -> bool:
        return not self.root.startswith("s3://")

    def raw(self, dataset: str, day: dt.date | None = None) -> str:
        return _join(self.root, "raw", dataset, f"dt={day.isoformat()}" if day else "")

    def quarantine(self, dataset: str, day: dt.date | None = None) -> str:
        return _join(self.root, "quarantine", dataset, f"dt={day.isoformat()}" if day else "")

    def curated(self, table: str, day: dt.date | None = None) -> str:
        return _join(self.root, "lake", table, f"dt={day.isoformat()}" if day else "")

    def scratch(self, table: str, day: dt.date) -> str:
        """Intermediate results of one job run; removed when the run ends."""
        return _join(self.root, "_scratch", table, f"dt={day.isoformat()}")

    def exports(self, *parts: str) -> str:
        return _join(self.root, "exports", *parts)

    def report(self, kind: str, start: str, end: str) -> str:
        """A report's folder, one per date range (a rerun replaces it). `start`/`end` are ISO
        dates, or placeholders that Step Functions' States.Format fills in."""
        return self.exports(kind, f"{start}_{end}")

    @property
    def query_results(self) -> str:
        """Where the local query engine writes results, as Athena does in its output location."""
        return _join(self.root, "_query_results")

    @property
    def outbox(self) -> str:
        """The local notifier's folder: one .eml file per notification."""
        return _join(self.root, "outbox")

    def incoming(self, table: str) -> str:
        return _join(self.root, "incoming", table)

    @property
    def warehouse_db(self) -> str:
        """The embedded warehouse (stands in for RDS/Redshift locally)."""
        return _join(self.root, "warehouse.duckdb")

    @property
    def analytics_db(self) -> str:
        """The dbt `local` target database (stands in for Athena locally)."""
        return _join(self.root, "analytics.duckdb")

    @property
    def runs(self) -> str:
        """Run history, logs and locks. On AWS (an s3:// lake) a task runs alone in a container
        and Step Functions keeps the run history: the records stay in the container's temp dir."""
        if not self.is_local:
            return os.path.join(tempfile.gettempdir(), "analytics-runs")
        return _join(self.root, "_runs")

    def ensure_local(self, path: str) -> str:
        """Create a local folder (no-op for s3) and return its path."""
        if self.is_local:
            os.makedirs(path, exist_ok=True)
        return path


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3://bucket/key URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def staging_dir_for(path: str) -> str:
    """A hidden sibling folder to write a new version of `path` into before swapping it in.

    Leftovers of earlier writers of the same folder that died mid-write (killed, out of memory)
    are removed first: readers skip hidden folders, and nobody else writes this folder now (runs
    of a pipeline for the same parameters are locked)."""
    parent, name = os.path.split(path.rstrip("/"))
    os.makedirs(parent, exist_ok=True)
    for leftover in os.listdir(parent):
        if leftover.startswith((f".staging-{name}-", f".retired-{name}-")):
            shutil.rmtree(os.path.join(parent, leftover), ignore_errors=True)
    return os.path.join(parent, f".staging-{name}-{uuid.uuid4().hex}")


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: str, b: str) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def swap_in(staging: str, path: str) -> None:
    """Replace folder `path` by `staging`, so readers (and a crash at any moment) see the old or
    the new version: one atomic exchange where the OS offers it, else two renames."""
    parent, name = os.path.split(path.rstrip("/"))
    if os.path.exists(path) and _exchange(staging, path):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the old version
        return
    retired = os.path.join(parent, f".retired-{name}-{uuid.uuid4().hex}")
    if os.path.exists(path):
        os.rename(path, retired)
    os.rename(staging, path)
    shutil.rmtree(retired, ignore_errors=True)
