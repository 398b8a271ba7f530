"""`analytics demo` (what `make demo` runs): every pipeline over generated days, in one process.
A small demo, checked against the raw files it generated and the history it left."""

from __future__ import annotations

import glob
import gzip
import json
import os
import re
from pathlib import Path

import duckdb
import pytest

from tests.e2e.in_process import run_cli

pytestmark = pytest.mark.e2e


def test_the_demo_runs_every_pipeline_and_leaves_what_the_readme_promises(tmp_path):
    root = str(tmp_path / "lake")
    done = run_cli(root, "demo", "--start", "2026-10-28", "--days", "2", "--scale", "150")
    lines = Path(f"{root}/_runs/history.jsonl").read_text().splitlines()
    history = [json.loads(line) for line in lines]
    ran = {(r["pipeline"], r["params"].get("date") or r["params"].get("month")) for r in history}
    assert {
        ("ace_daily", "2026-10-28"), ("ace_daily", "2026-10-29"), ("ace_monthly", "2026-10"),
        ("usage_daily", "2026-10-29"), ("social_daily.social_curation_daily", "2026-10-28"),
        ("social_daily", "2026-10-29"),
    } <= ran  # fmt: skip
    assert {r["status"] for r in history} == {"succeeded"}
    # Each landing day is curated once: the first by the backfill, the last by social_daily.
    curated = sorted(r["params"]["date"] for r in history if r["task"] == "social_curation_daily")
    assert curated == ["2026-10-28", "2026-10-29"]
    # Every generated attempt of the two days was accepted or quarantined by the Spark job.
    generated = sum(
        len(gzip.decompress(Path(p).read_bytes()).splitlines())
        for p in glob.glob(f"{root}/raw/notifications/attempted/dt=*/*.jsonl.gz")
    )
    attempted = [r for r in history if r["task"] == "notification_attempted_daily"]
    assert sum(r["rows_in"] for r in attempted) == generated > 0
    # Every usage event generated went through the delivery stream into the lake.
    events = sum(
        sum(1 for line in Path(p).read_text().splitlines() if line.strip())
        for p in glob.glob(f"{root}/raw/usage_events/dt=*/*.jsonl")
    )
    with duckdb.connect() as con:
        landed = con.execute(
            "select count(*) from read_parquet($f)",
            {"f": glob.glob(f"{root}/lake/usage_events/**/*.parquet", recursive=True)},
        ).fetchall()[0][0]
    said = re.search(
        r"([\d,]+) record\(s\) read: .*?([\d,]+) delivered to .*?([\d,]+) failed conversion",
        " ".join(done.output.split()),
    )
    assert said, done.output[-3000:]
    read, delivered, failed = (int(g.replace(",", "")) for g in said.groups())
    assert read == events > 0
    assert delivered == landed and delivered + failed == events
    # The outputs the README lists: Finance files, the usage report, social documents, the
    # summary and dbt's one-page docs.
    assert glob.glob(f"{root}/exports/finance/*/month=2026-10/*.csv")
    assert glob.glob(f"{root}/exports/usage/2026-10-28_2026-10-29/report.html")
    assert glob.glob(f"{root}/exports/social/*/*.*")
    assert "ACE units per client and billing month" in done.output
    assert os.path.getsize(f"{root}/_dbt/target/static_index.html") > 100_000
