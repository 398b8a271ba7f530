"""Usage events end to end: generated producer records → `analytics ingest events` → Parquet
partitions → `analytics run usage_daily` (source freshness + dbt) → usage marts, checked against a
second, plain-Python reading of the same records."""

from __future__ import annotations

import csv
import datetime as dt
import glob
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from ingestion.firehose import DeliveryStream, ingest_lines
from orchestration.core.lake import Lake
from tests.lake_schema import columns_on_disk, glue_columns

pytestmark = pytest.mark.e2e

ANALYTICS = str(Path(sys.executable).with_name("analytics"))


def cli(lake_root: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAKE_ROOT": lake_root}
    return subprocess.run(
        [ANALYTICS, *args], env=env, input=stdin, capture_output=True, timeout=900
    )


def reference_events(lines: list[str]) -> dict[str, tuple[str, str, dt.datetime]]:
    """Valid events by id, read the simple way: the generator writes ISO `...Z` or epoch ms."""
    events = {}
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not all(record.get(k) for k in ("id", "userId", "format", "timestamp")):
            continue
        stamp = record["timestamp"]
        if isinstance(stamp, int):
            at = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=stamp)
        else:
            try:
                at = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
            except ValueError:
                continue
        events[record["id"]] = (record["userId"], record["format"], at)
    return events


@pytest.fixture(scope="module")
def usage_lake(tmp_path_factory) -> tuple[str, list[str]]:
    root = str(tmp_path_factory.mktemp("usage") / "lake")
    done = cli(root, "generate", "--start", "2026-10-30", "--days", "3", "--scale", "500")
    assert done.returncode == 0, done.stderr
    lines = []
    for path in sorted(glob.glob(f"{root}/raw/usage_events/*/events.jsonl")):
        with open(path, "rb") as handle:
            data = handle.read()
        lines += data.decode().splitlines()
        done = cli(root, "ingest", "events", stdin=data)
        assert done.returncode == 0, done.stderr
    done = cli(root, "run", "usage_daily", "--date", "2026-11-01")
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
    return root, lines


def query(root: str, sql: str) -> list[tuple]:
    with duckdb.connect(os.path.join(root, "analytics.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_daily_and_monthly_usage_match_an_independent_count(usage_lake):
    root, lines = usage_lake
    events = reference_events(lines)
    assert len(events) > 1000 and len(lines) > len(events)  # duplicates and bad records present
    daily_views: dict[tuple, int] = defaultdict(int)
    daily_users: dict[tuple, set] = defaultdict(set)
    monthly_views: dict[tuple, int] = defaultdict(int)
    monthly_users: dict[tuple, set] = defaultdict(set)
    for user, fmt, at in events.values():
        daily_views[(at.date(), fmt)] += 1
        daily_users[(at.date(), fmt)].add(user)
        month = at.date().replace(day=1)
        monthly_views[(month, fmt)] += 1
        monthly_users[(month, fmt)].add(user)
    expected_daily = sorted((k[0], k[1], v, len(daily_users[k])) for k, v in daily_views.items())
    expected_monthly = sorted(
        (k[0], k[1], v, len(monthly_users[k])) for k, v in monthly_views.items()
    )
    assert query(root, "select * from usage_daily_format order by all") == expected_daily
    assert query(root, "select * from usage_monthly_format order by all") == expected_monthly
    # October and November: the window crosses a month boundary.
    assert {row[0].month for row in expected_monthly} == {10, 11}


def test_monthly_workflow_report_matches_an_independent_count(usage_lake):
    """`analytics workflow` over the built marts: the per-format totals of the report equal the
    plain-Python count (users distinct over the range), and a notification is in the outbox."""
    root, lines = usage_lake
    payload = '{"startDate": "2026-10-31", "endDate": "2026-11-01"}'
    done = cli(root, "workflow", "usage_monthly_report", "--payload", payload)
    assert done.returncode == 0, done.stderr.decode()
    first, last = dt.date(2026, 10, 31), dt.date(2026, 11, 1)
    views: dict[str, int] = defaultdict(int)
    users: dict[str, set] = defaultdict(set)
    for user, fmt, at in reference_events(lines).values():
        if first <= at.date() <= last:
            views[fmt] += 1
            users[fmt].add(user)
    expected = sorted(
        ((f, v, len(users[f])) for f, v in views.items()), key=lambda r: (-r[1], r[0])
    )
    folder = Path(root, "exports", "usage", "2026-10-31_2026-11-01")
    with open(folder / "format_totals.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["format", "views", "unique_users"]
    assert [(f, int(v), int(u)) for f, v, u in rows[1:]] == expected
    assert done.stdout.decode().strip() == str(folder / "report.html")
    assert len(glob.glob(f"{root}/outbox/*.eml")) == 1


def test_every_record_is_delivered_or_in_the_error_output(usage_lake):
    root, lines = usage_lake
    delivered = query(
        root,
        f"select count(*) from read_parquet('{root}/lake/usage_events/*/*/*.parquet')",
    )[0][0]
    quarantined = 0
    for path in glob.glob(f"{root}/quarantine/events/processing-failed/*/*.jsonl"):
        with open(path) as handle:
            quarantined += len(handle.readlines())
    assert delivered + quarantined == len([line for line in lines if line.strip()])
    assert quarantined > 0
    valid = reference_events(lines)
    assert query(root, "select count(*) from usage_views")[0][0] == len(valid)


def test_the_glue_table_declares_what_delivery_writes(usage_lake):
    """Athena (and dbt's source freshness on `ingested_at`) read usage_events through its Glue
    table, which Firehose also converts against: the columns the local stream writes."""
    root, _ = usage_lake
    assert columns_on_disk(root, "usage_events") == glue_columns("usage_events")


def test_stale_events_fail_the_usage_run_on_freshness(tmp_path):
    root = str(tmp_path / "lake")
    three_days_ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=3)
    record = {"id": "e1", "userId": "u1", "format": "video", "timestamp": "2026-10-05T10:00:00Z"}
    with DeliveryStream(Lake(root), now=lambda: three_days_ago) as stream:
        ingest_lines(stream, [json.dumps(record).encode()])
    done = cli(root, "run", "usage_daily", "--date", "2026-10-05")
    assert done.returncode != 0
    logs = glob.glob(f"{root}/_runs/logs/*/dbt_build_usage.log")
    assert any("ERROR STALE" in Path(path).read_text() for path in logs), logs
