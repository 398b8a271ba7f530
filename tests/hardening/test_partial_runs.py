"""A partial run changes only what is inside its scope (DESIGN §9; docs/operations.md): one
shard, an id range, a different shard count than the day's last run. Everything outside the
scope (the statistics rows of the lake, the documents and pages) is compared with what it was
before, row for row and byte for byte; inside the scope the run's result must equal a full run's.

The kinds that run whole pipelines (one task, one day of a backfill, one month) are in
tests/e2e/test_ace_pipeline.py, on its built lake."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import logging
import os
import shutil
import threading
import time

import duckdb
import pytest

from orchestration.core.lake import Lake
from orchestration.core.locks import waiting_lock
from orchestration.core.settings import Settings
from orchestration.devtools.generate import GenerateOptions, generate
from orchestration.local.runner import Runner
from orchestration.pipelines import SOCIAL_DAILY
from spark_jobs import social_analytics

pytestmark = pytest.mark.spark

START, DAYS = dt.date(2026, 10, 28), 2
DAY = (START + dt.timedelta(days=DAYS - 1)).isoformat()
ANALYTICS = SOCIAL_DAILY.only("social_analytics")


def statistics(root: str) -> dict[str, set[tuple]]:
    """Every statistics row of the day, per table, as the readers see it (every shard folder)."""
    tables = {}
    for table, key in (("social_event_stats", "event_id"), ("social_brand_stats", "brand_id")):
        files = glob.glob(f"{root}/lake/{table}/dt={DAY}/shard=*/*.parquet")
        with duckdb.connect() as con:
            rows = con.execute(
                f"select * exclude (shard, dt) from read_parquet($files, hive_partitioning = true)"
                f" order by {key}, dimension, rank",
                {"files": files},
            ).fetchall()
        tables[table] = rows
    return tables


def by_subject(rows: list[tuple], index: int = 0) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = {}
    for row in rows:
        out.setdefault(row[index], []).append(row)
    return out


def documents(root: str) -> dict[str, str]:
    return {
        os.path.relpath(p, root): hashlib.sha256(open(p, "rb").read()).hexdigest()
        for p in sorted(glob.glob(f"{root}/exports/social/*/*.*"))
    }


@pytest.fixture(scope="module")
def two_shard_day(tmp_path_factory) -> str:
    """A lake whose day was computed by social_daily with its two shards."""
    root = str(tmp_path_factory.mktemp("partial") / "lake")
    settings = Settings(LAKE_ROOT=root)
    generate(Lake.from_settings(settings), GenerateOptions(start=START, days=DAYS, scale=2000))
    runner = Runner(settings)
    for offset in range(DAYS - 1):
        day = (START + dt.timedelta(days=offset)).isoformat()
        assert runner.run(SOCIAL_DAILY.only("social_curation_daily"), {"date": day}).succeeded
    assert runner.run(SOCIAL_DAILY, {"date": DAY}).succeeded
    return root


@pytest.fixture
def day(two_shard_day, tmp_path) -> str:
    copy = str(tmp_path / "lake")
    shutil.copytree(two_shard_day, copy, ignore=shutil.ignore_patterns("_runs"))
    return copy


def run_analytics(root: str, **env: int) -> None:
    settings = Settings(LAKE_ROOT=root, **{k.upper(): v for k, v in env.items()})
    assert Runner(settings).run(ANALYTICS, {"date": DAY}).succeeded


def in_shard(subject_id: int, current: int, total: int) -> bool:
    return subject_id % total + 1 == current


def assert_only_scope_changed(root, before, docs_before, event_scope, brand_scope):
    after = statistics(root)
    for table, scope in (("social_event_stats", event_scope), ("social_brand_stats", brand_scope)):
        old, new = by_subject(before[table]), by_subject(after[table])
        # Every subject of the day is still there, once, and those outside the scope unchanged.
        assert set(new) == set(old), table
        assert {s: rows for s, rows in new.items() if not scope(s)} == {
            s: rows for s, rows in old.items() if not scope(s)
        }, table
        # Inside the scope: recomputed from the same inputs, so the same rows as the full run.
        assert {s: rows for s, rows in new.items() if scope(s)} == {
            s: rows for s, rows in old.items() if scope(s)
        }, table
        assert len(after[table]) == len(before[table]), f"{table}: a subject held twice"
    assert documents(root) == docs_before


def test_one_shard_changes_only_its_subjects(day):
    before, docs = statistics(day), documents(day)
    run_analytics(day, num_shards=2, current_shard=2)
    assert_only_scope_changed(
        day, before, docs, lambda e: in_shard(e, 2, 2), lambda b: in_shard(b, 2, 2)
    )


def test_an_id_range_with_another_shard_count_changes_only_those_ids(day):
    """The case that lost data: one event and one brand, NUM_SHARDS=1, on a two-shard day."""
    before, docs = statistics(day), documents(day)
    event = sorted(by_subject(before["social_event_stats"]))[3]
    brand = sorted(by_subject(before["social_brand_stats"]))[1]
    run_analytics(
        day,
        num_shards=1,
        current_shard=1,
        event_id_start=event,
        event_id_end=event,
        brand_id_start=brand,
        brand_id_end=brand,
    )
    assert_only_scope_changed(day, before, docs, lambda e: e == event, lambda b: b == brand)


def test_a_different_shard_count_changes_only_the_new_shards_subjects(day):
    before, docs = statistics(day), documents(day)
    run_analytics(day, num_shards=3, current_shard=1)
    assert_only_scope_changed(
        day, before, docs, lambda e: in_shard(e, 1, 3), lambda b: in_shard(b, 1, 3)
    )
    # The day can be taken over shard by shard: after the other two of three, only those are left.
    run_analytics(day, num_shards=3, current_shard=2)
    run_analytics(day, num_shards=3, current_shard=3)
    assert statistics(day) == before
    folders = sorted(os.listdir(f"{day}/lake/social_event_stats/dt={DAY}"))
    assert folders == ["shard=1-of-3", "shard=2-of-3", "shard=3-of-3"]


def test_the_shards_of_a_new_count_running_at_once_publish_one_at_a_time(day, caplog):
    """Three shards of a new count, at once (a Batch array job), each take their subjects out of
    the day's two-shard partitions: unserialized, one shard's rewrite would drop another's and
    leave those subjects twice. They wait for the day's publishing lock, and nothing is lost."""
    caplog.set_level(logging.INFO, logger="orchestration.core.locks")
    before = statistics(day)
    lake = Lake.from_settings(Settings(LAKE_ROOT=day))
    failures: list[BaseException] = []

    def shard(current: int) -> None:
        settings = Settings(LAKE_ROOT=day, NUM_SHARDS=3, CURRENT_SHARD=current)
        try:
            social_analytics.run(settings, lake, dt.date.fromisoformat(DAY))
        except BaseException as error:  # reported by the test thread
            failures.append(error)

    def waiting() -> int:
        return sum("waiting for publishing social_event_stats" in r.message for r in caplog.records)

    threads = [threading.Thread(target=shard, args=(k,)) for k in (1, 2, 3)]
    held = dict(wait=dt.timedelta(seconds=1), ttl=dt.timedelta(minutes=5))
    with waiting_lock(lake, f"publish_social_event_stats_dt={DAY}", "test", "the test", **held):
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 300
        while waiting() < 3 and time.monotonic() < deadline and not failures:
            time.sleep(0.2)
        assert not failures, failures
        assert waiting() == 3, "the shards did not wait for the day's publishing lock"
        # While the lock is held, none of them has touched the day's event statistics.
        assert statistics(day)["social_event_stats"] == before["social_event_stats"]
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert statistics(day) == before
    for table in ("social_event_stats", "social_brand_stats"):
        folders = sorted(os.listdir(f"{day}/lake/{table}/dt={DAY}"))
        assert folders == ["shard=1-of-3", "shard=2-of-3", "shard=3-of-3"], table
