"""Social analytics end to end on generated data: generate → curate each landing day →
social_daily with two parallel shards → documents, pages and report models. Attendees and
tickets are checked against a plain-Python count over the raw files."""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
from collections import defaultdict

import duckdb

from orchestration.devtools.generate import GenerateOptions, generate
from orchestration.local.runner import Runner
from orchestration.pipelines import SOCIAL_DAILY
from tests.lake_schema import columns_on_disk, glue_columns

START, DAYS = dt.date(2026, 10, 28), 3
END = START + dt.timedelta(days=DAYS - 1)


def raw_records(lake, dataset: str) -> list[tuple[str, dict]]:
    """(landing day, record) of every line that parses as a JSON object, in landing order."""
    out = []
    for path in sorted(glob.glob(os.path.join(lake.raw(dataset), "dt=*", "*.jsonl"))):
        day = path.split("dt=")[1][:10]
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    out.append((day, record))
    return out


def expected_attendance(lake) -> dict[int, tuple[int, int]]:
    """event_id → (attendees, tickets): each order's latest landing (a refund after the payment
    wins), only valid events and orders, paid orders only."""
    events = {
        r["event_id"]
        for _, r in raw_records(lake, "ticketing/events")
        if isinstance(r.get("event_id"), int) and isinstance(r.get("brand_id"), int)
    }
    latest: dict[str, tuple[str, dict]] = {}
    for day, order in raw_records(lake, "ticketing/orders"):
        valid = (
            isinstance(order.get("event_id"), int)
            and isinstance(order.get("quantity"), int)
            and 1 <= order["quantity"] <= 100
            and order.get("status") in ("paid", "refunded")
        )
        if valid and (order["order_id"] not in latest or day >= latest[order["order_id"]][0]):
            latest[order["order_id"]] = (day, order)
    users, tickets = defaultdict(set), defaultdict(int)
    for _, order in latest.values():
        if order["status"] == "paid" and order["event_id"] in events:
            users[order["event_id"]].add(order["user_id"])
            tickets[order["event_id"]] += order["quantity"]
    return {e: (len(users[e]), tickets[e]) for e in events}


def test_social_daily_produces_documents_pages_and_reports(settings, lake):
    generate(lake, GenerateOptions(start=START, days=DAYS, scale=2000))
    runner = Runner(settings)
    for offset in range(DAYS - 1):
        day = START + dt.timedelta(days=offset)
        curation = SOCIAL_DAILY.only("social_curation_daily")
        assert runner.run(curation, {"date": day.isoformat()}).succeeded
    result = runner.run(SOCIAL_DAILY, {"date": END.isoformat()})
    assert result.succeeded, result.failed_tasks
    assert sorted(result.records) == [
        "dbt_build_social",
        "social_analytics@1-of-2",
        "social_analytics@2-of-2",
        "social_curation_daily",
    ]

    expected = expected_attendance(lake)
    assert len(expected) == 20 and sum(a for a, _ in expected.values()) > 100
    documents = {}
    for path in glob.glob(lake.exports("social", "events", "*.json")):
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
        documents[doc["event_id"]] = (doc["attendees"], doc["tickets"])
    assert documents == expected
    # The skew: the most popular event has several times the attendees of the median one.
    counts = sorted(a for a, _ in expected.values())
    assert counts[-1] > 3 * counts[len(counts) // 2]

    brands = glob.glob(lake.exports("social", "brands", "*.json"))
    pages = glob.glob(lake.exports("social", "brands", "*.html"))
    assert len(brands) == len(pages) == 4
    with duckdb.connect(lake.analytics_db, read_only=True) as con:
        report = dict(con.execute("select event_id, attendees from social_event_report").fetchall())
        brand_total = con.execute("select count(*) from social_brand_report").fetchall()[0][0]
    assert report == {e: a for e, (a, _) in expected.items()}
    assert brand_total == 4
    # Athena reads the statistics through their Glue tables: the columns the job wrote.
    for table in ("social_event_stats", "social_brand_stats"):
        assert columns_on_disk(lake.root, table) == glue_columns(table), table
