"""A tiny-scale run of `analytics bench`: the report is complete and its counts are right."""

from __future__ import annotations

import glob
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

ANALYTICS = str(Path(sys.executable).with_name("analytics"))


def test_bench_smoke(tmp_path):
    root, out = tmp_path / "bench", tmp_path / "report.json"
    done = subprocess.run(
        [
            ANALYTICS,
            "bench",
            "--scale",
            "500",
            "--days",
            "2",
            "--repeat",
            "1",
            "--cold-repeat",
            "1",
            "--warmup-runs",
            "1",
            "--root",
            str(root),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "LAKE_ROOT": str(tmp_path / "unused")},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    stages = {s["stage"]: s for s in report["stages"]}
    assert {
        "notification_attempted_daily",
        "notification_delivered_daily",
        "dbt_build_ace",
        "export_finance",
    } <= set(stages)
    dataset = report["dataset"]
    raw_lines = 0
    for path in glob.glob(f"{dataset}/raw/notifications/attempted/dt=2026-01-02/*.jsonl.gz"):
        with gzip.open(path, "rt") as handle:
            raw_lines += len(handle.read().splitlines())
    assert stages["notification_attempted_daily"]["rows_in"] == raw_lines
    for job, table in (
        ("notification_attempted_daily", "notification_attempts"),
        ("notification_delivered_daily", "notification_receipts"),
    ):
        assert stages[job]["duckdb_seconds"] > 0 and stages[job]["spark_vs_duckdb"] > 0
        # The DuckDB measuring stick and the Spark job accept exactly the same rows.
        stick = duckdb.sql(
            f"select count(*) from '{dataset}/duckdb_stick/{job}/accepted.parquet'"
        ).fetchall()
        spark = duckdb.sql(
            f"select count(*) from '{dataset}/timed/lake/{table}/dt=2026-01-02/*.parquet'"
        ).fetchall()
        assert stick == spark
        # The timed day ran on a clone: the cached history still ends the day before.
        assert os.path.isdir(f"{dataset}/history/lake/{table}/dt=2026-01-01")
        assert not os.path.exists(f"{dataset}/history/lake/{table}/dt=2026-01-02")
    assert report["daily_pipeline_peak_rss_mib"] > 0
    # Day 2 and day 1 alone each ran once (which of several runs counts: tests/unit/test_bench.py).
    daily, solo = report["daily_pipeline_runs_seconds"], report["day1_alone_runs_seconds"]
    assert len(daily) == len(solo) == 1
    assert report["daily_pipeline_seconds"] == daily[0]
    assert report["day1_alone_seconds"] == solo[0]
    assert report["incremental_ratio"] == pytest.approx(daily[0] / solo[0], rel=1e-2)
    # The stages shown are those of the counted run: each fits in its wall time.
    monthly = ("dbt_build_ace_month", "export_finance")
    assert all(
        s["seconds"] <= report["daily_pipeline_seconds"]
        for s in report["stages"]
        if s["stage"] not in monthly
    )
    assert "whole daily pipeline" in done.stderr + done.stdout
    # Cold: day 2 once more, in a fresh process, on its own clone of the history.
    assert len(report["cold_pipeline_runs_seconds"]) == 1
    cold = report["cold_pipeline_tasks_seconds"]
    assert set(cold) == set(report["runs"]["day_d"][0])  # the same tasks as the warm runs
    assert 0 < max(s for t, s in cold.items() if t != "total") <= cold["total"]
    assert cold["total"] == report["cold_pipeline_seconds"]
    assert "cold (a fresh process" in done.stdout + done.stderr
    assert report["warmup_runs"] == 1 and "after 1 warm-up runs" in done.stdout + done.stderr
    # A scheduled run finds the parse state its run of the day before left at the same path:
    # no run on the clones (at another path than the history) parses the whole project again.
    full_parses = {
        lake: Path(f"{dataset}/{lake}/_dbt/logs/dbt.log")
        .read_text()
        .count("Unable to do partial parsing")
        for lake in ("history", "timed")
    }
    assert full_parses["timed"] == full_parses["history"] >= 1, full_parses
