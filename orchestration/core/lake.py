"""Lake layout: the one place that knows where every zone and dataset lives (local or s3)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestration.core.settings import Settings


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
        and Step Functions keeps the run history: the records stay in the container's temp dir,
        one folder per lake (a machine that runs against two lakes keeps their states apart)."""
        if not self.is_local:
            lake = hashlib.sha256(self.root.encode()).hexdigest()[:12]
            return os.path.join(tempfile.gettempdir(), "analytics-runs", lake)
        return _join(self.root, "_runs")

    def run_lock(self, name: str) -> str:
        """The lock object of a run on an S3 lake: in the lake, where every machine sees it."""
        return _join(self.root, "_runs", "locks", f"{name}.json")

    def run_artifacts(self, pipeline: str, run_id: str, task: str) -> str:
        """Where a task run's artefacts stay (dbt's run results, manifest and log): in the lake,
        so they outlive the container on AWS."""
        return _join(self.root, "_runs", "artifacts", pipeline, run_id, task)

    def dbt_parse_state(self, target: str) -> str:
        """dbt's partial-parse state of a target on an S3 lake, kept between the containers that
        run dbt (each starts with an empty target folder)."""
        return _join(self.root, "_runs", "dbt", target, "partial_parse.msgpack")

    def ensure_local(self, path: str) -> str:
        """Create a local folder (no-op for s3) and return its path."""
        if self.is_local:
            os.makedirs(path, exist_ok=True)
        return path


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3://bucket/key URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key
