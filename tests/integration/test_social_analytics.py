"""Social analytics (DESIGN §5.2) on a hand-worked lake: raw JSON lines of two landing days →
social_curation → social_analytics, every statistic checked against counts worked out by hand
(see the comments), then sharding: the union of the shards equals the unsharded result."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from orchestration import tasks
from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from orchestration.core.shards import Shard
from orchestration.local.context import TaskContext
from spark_jobs import social_analytics, social_curation

DAY1, DAY2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)

# Events: 1 and 2 of brand 10 (2026 and 2027), 3 of brand 11 (nobody attends).
EVENTS = {
    DAY1: [
        {"event_id": 1, "brand_id": 10, "name": "Spring Gig", "starts_at": "2026-06-01T19:00:00Z"},
        {"event_id": 3, "brand_id": 11, "name": "Empty Hall", "starts_at": "2026-07-01T19:00:00Z"},
        {"event_id": "4", "brand_id": 11, "name": "x", "starts_at": "2026-07-01T19:00:00Z"},
    ],
    DAY2: [
        # starts_at has an offset: 2027-01-15T01:00+02:00 is 2027-01-14T23:00Z, still 2027.
        {
            "event_id": 2,
            "brand_id": 10,
            "name": "New Year",
            "starts_at": "2027-01-15T01:00:00+02:00",
        },
    ],
}
ORDERS = {
    DAY1: [
        {"order_id": "o1", "event_id": 1, "user_id": "u1", "quantity": 2, "status": "paid"},
        {"order_id": "o2", "event_id": 1, "user_id": "u2", "quantity": 1, "status": "paid"},
        {"order_id": "o3", "event_id": 1, "user_id": "u2", "quantity": 3, "status": "paid"},
        {"order_id": "o4", "event_id": 1, "user_id": "u3", "quantity": 1, "status": "paid"},
        {"order_id": "o7", "event_id": 1, "user_id": "u5", "quantity": 1, "status": "paid"},
        {"order_id": "bad1", "event_id": 1, "user_id": "u9", "quantity": 0, "status": "paid"},
        {"order_id": "bad2", "event_id": 1, "user_id": "u9", "quantity": 1, "status": "pending"},
    ],
    DAY2: [
        # o4 refunded: u3 no longer attends event 1.
        {"order_id": "o4", "event_id": 1, "user_id": "u3", "quantity": 1, "status": "refunded"},
        {"order_id": "o5", "event_id": 2, "user_id": "u1", "quantity": 1, "status": "paid"},
        {"order_id": "o6", "event_id": 2, "user_id": "u4", "quantity": 5, "status": "paid"},
        # an order of an event nobody knows: no attendee anywhere
        {"order_id": "o8", "event_id": 99, "user_id": "u4", "quantity": 1, "status": "paid"},
    ],
}
USERS = {
    DAY1: [
        {"user_id": "u1", "gender": "female", "birth_year": 2009, "country": "GB"},
        {"user_id": "u2", "gender": None, "birth_year": None, "country": "FR"},
        {"user_id": "u3", "gender": "other", "birth_year": 1980, "country": "GB"},
        {"user_id": "u4", "gender": "other", "birth_year": 1960},
        {"user_id": "u8", "gender": "robot", "birth_year": 1990},
        {"user_id": "u9", "gender": "male", "birth_year": 3000},
    ],
    # u2 completes the profile: the latest landing wins (male, still no birth year).
    DAY2: [{"user_id": "u2", "gender": "male", "birth_year": None, "country": "FR"}],
}
LIKES = {
    DAY1: [
        {"user_id": "u1", "page_id": "p1", "page_name": "Page One", "category": "music"},
        {"user_id": "u1", "page_id": "p2", "page_name": "Page Two", "category": "sport"},
        {"user_id": "u2", "page_id": "p1", "page_name": "Page One", "category": "music"},
        {"user_id": "u2", "page_id": "p3", "page_name": "Page Three", "category": "music"},
        {"user_id": "u5", "page_id": "p2", "page_name": "Page Two", "category": "sport"},
        {"user_id": "u3", "page_id": "p1", "page_name": "Page One", "category": "music"},
        {"user_id": "u4", "page_id": "p3", "page_name": "Page Three", "category": "music"},
        # twelve pages only u4 likes, all tied at one attendee
        *(
            {"user_id": "u4", "page_id": f"p{n}", "page_name": f"Page {n}", "category": "misc"}
            for n in range(10, 22)
        ),
    ],
}
LISTENS = {
    DAY1: [
        {
            "user_id": "u1",
            "artist_id": "a1",
            "artist_name": "Artist A",
            "genre": "pop",
            "play_count": 10,
        },
        {
            "user_id": "u4",
            "artist_id": "a1",
            "artist_name": "Artist A",
            "genre": "pop",
            "play_count": 3,
        },
        {
            "user_id": "u4",
            "artist_id": "a2",
            "artist_name": "Artist B",
            "genre": "jazz",
            "play_count": 1,
        },
        {
            "user_id": "u2",
            "artist_id": "a2",
            "artist_name": "Artist B",
            "genre": None,
            "play_count": 7,
        },
    ],
}


def write_raw(lake, dataset: str, by_day: dict, extra_lines: dict | None = None) -> None:
    for day, records in by_day.items():
        folder = lake.raw(dataset, day)
        os.makedirs(folder, exist_ok=True)
        lines = [json.dumps(r) for r in records]
        if dataset == "ticketing/orders":
            lines = [json.dumps({**r, "ordered_at": f"{day}T10:00:00Z"}) for r in records]
        lines += (extra_lines or {}).get(day, [])
        with open(os.path.join(folder, "part-0.jsonl"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def curated(tmp_path_factory, spark):
    """The raw files of both days curated once; each test gets a copy of that lake."""
    root = tmp_path_factory.mktemp("social") / "lake"
    settings = Settings(LAKE_ROOT=str(root))
    lake = Lake.from_settings(settings)
    write_raw(lake, "ticketing/events", EVENTS, {DAY1: ['{"event_id": 5, "brand_id": ']})
    write_raw(lake, "ticketing/orders", ORDERS)
    write_raw(lake, "users", USERS)
    write_raw(lake, "social/likes", LIKES)
    write_raw(lake, "social/listens", LISTENS)
    results = [social_curation.run(settings, lake, day) for day in (DAY1, DAY2)]
    return root, results


@pytest.fixture
def social_lake(curated, settings, lake):
    root, results = curated
    shutil.copytree(root, lake.root)
    return settings, lake, results


@pytest.fixture(scope="module", params=["one partition", "partitioned"])
def computed(curated, tmp_path_factory, request):
    """One unsharded run over a copy of the curated lake, shared by the read-only checks; with
    the plan of a small lake (its inputs in one partition) and with that of a large one
    (SPARK_ONE_PARTITION_BYTES=0: shuffles between the stages)."""
    root = tmp_path_factory.mktemp("social-computed") / "lake"
    shutil.copytree(curated[0], root)
    limit = {} if request.param == "one partition" else {"SPARK_ONE_PARTITION_BYTES": 0}
    settings = Settings(LAKE_ROOT=str(root), **limit)
    return Lake.from_settings(settings), run_task(settings, DAY2)


def run_task(settings, day, shard=None) -> dict:
    """The social_analytics task as the runner runs it: the job, then the documents and pages of
    what it published."""
    ctx = TaskContext(settings, Lake.from_settings(settings), {"date": day.isoformat()}, "", shard)
    return tasks.social_analytics(ctx)


def stats(spark, lake, table: str, id_column: str) -> dict:
    """{id: {"attendees", "tickets", dimension: [(key, label, count, share), ...] in rank order}}"""
    rows = spark.read.parquet(lake.curated(table, DAY2)).orderBy(id_column, "dimension", "rank")
    out: dict = {}
    for r in rows.collect():
        subject = out.setdefault(
            r[id_column], {"attendees": r["attendees"], "tickets": r["tickets"]}
        )
        share = None if r["share"] is None else round(r["share"], 6)
        subject.setdefault(r["dimension"], []).append((r["key"], r["label"], r["count"], share))
    return out


def buckets(values: list[str], counts: dict[str, int], attendees: int) -> list:
    return [
        (v, None, counts.get(v, 0), round(counts.get(v, 0) / attendees, 6) if attendees else None)
        for v in values
    ]


GENDERS = ["female", "male", "other", "unknown"]
AGES = ["<18", "18-24", "25-34", "35-44", "45-54", "55+", "unknown"]


def test_curation_quarantines_each_bad_record_with_its_reason(social_lake, spark):
    _, lake, results = social_lake
    reasons = {
        table: sorted(
            r["reason"] for r in spark.read.parquet(lake.quarantine(table, DAY1)).collect()
        )
        for table in ("ticketing_events", "ticketing_orders", "users")
    }
    assert reasons == {
        "ticketing_events": ["malformed_json", "wrong_type:event_id"],
        "ticketing_orders": ["out_of_range:quantity", "unknown_value:status"],
        "users": ["out_of_range:birth_year", "unknown_value:gender"],
    }
    assert results[0].quarantined == 6
    # Day 1: 2 valid events + 5 valid orders + 4 users + 19 likes + 4 listens; nothing lost.
    assert results[0].rows_out == 2 + 5 + 4 + 19 + 4
    assert results[0].rows_in == results[0].rows_out + 6


def test_every_event_statistic_matches_the_hand_count(computed, spark):
    lake, _ = computed
    events = stats(spark, lake, "social_event_stats", "event_id")
    assert sorted(events) == [1, 2, 3]

    # Event 1 (2026-06-01): attendees u1 (2 tickets), u2 (1 + 3), u5 (1); u3's order refunded.
    e1 = events[1]
    assert (e1["attendees"], e1["tickets"]) == (3, 7)
    # u1 female, u2 male (latest profile), u5 has no profile.
    assert e1["gender"] == buckets(GENDERS, {"female": 1, "male": 1, "unknown": 1}, 3)
    # u1 born 2009: 17 in 2026; u2 no birth year; u5 unknown.
    assert e1["age"] == buckets(AGES, {"<18": 1, "unknown": 2}, 3)
    # p1: u1, u2; p2: u1, u5; p3: u2 (u3 likes p1 but does not attend).
    assert e1["page"] == [
        ("p1", "Page One", 2, round(2 / 3, 6)),
        ("p2", "Page Two", 2, round(2 / 3, 6)),
        ("p3", "Page Three", 1, round(1 / 3, 6)),
    ]
    # music: u1 (p1), u2 (p1, p3) = 2; sport: u1, u5 = 2; tie broken by name.
    assert e1["page_category"] == [
        ("music", "music", 2, round(2 / 3, 6)),
        ("sport", "sport", 2, round(2 / 3, 6)),
    ]
    # a1: u1; a2: u2. Genres: pop (u1); u2's listen has no genre.
    assert e1["artist"] == [
        ("a1", "Artist A", 1, round(1 / 3, 6)),
        ("a2", "Artist B", 1, round(1 / 3, 6)),
    ]
    assert e1["genre"] == [("pop", "pop", 1, round(1 / 3, 6))]

    # Event 2 (2027): u1 (1 ticket, now 18) and u4 (5 tickets, born 1960: 67).
    e2 = events[2]
    assert (e2["attendees"], e2["tickets"]) == (2, 6)
    assert e2["gender"] == buckets(GENDERS, {"female": 1, "other": 1}, 2)
    assert e2["age"] == buckets(AGES, {"18-24": 1, "55+": 1}, 2)
    # 15 pages with one attendee each: the 10 smallest ids win the ties (string order).
    expected_pages = ["p1", "p10", "p11", "p12", "p13", "p14", "p15", "p16", "p17", "p18"]
    assert [p[0] for p in e2["page"]] == expected_pages
    assert {p[2] for p in e2["page"]} == {1}
    assert e2["genre"] == [("pop", "pop", 2, 1.0), ("jazz", "jazz", 1, 0.5)]

    # Event 3: nobody attends; the fixed buckets are there with zero counts and no share.
    e3 = events[3]
    assert (e3["attendees"], e3["tickets"]) == (0, 0)
    assert e3["gender"] == buckets(GENDERS, {}, 0)
    assert "page" not in e3


def test_every_brand_statistic_matches_the_hand_count(computed, spark):
    lake, _ = computed
    brands = stats(spark, lake, "social_brand_stats", "brand_id")
    # Brand 10 (events 1 and 2): u1, u2, u5, u4 attend; tickets 7 + 6.
    b10 = brands[10]
    assert (b10["attendees"], b10["tickets"]) == (4, 13)
    assert b10["gender"] == buckets(GENDERS, {"female": 1, "male": 1, "other": 1, "unknown": 1}, 4)
    # Age at the user's latest event of the brand: u1 at event 2 (18), u4 67, u2/u5 unknown.
    assert b10["age"] == buckets(AGES, {"18-24": 1, "55+": 1, "unknown": 2}, 4)
    # p1: u1, u2; p2: u1, u5; p3: u2, u4; then p10..p16 (u4) fill the ten.
    assert [(p[0], p[2]) for p in b10["page"]] == [
        ("p1", 2),
        ("p2", 2),
        ("p3", 2),
        *[(f"p{n}", 1) for n in range(10, 17)],
    ]
    assert b10["page_category"] == [
        ("music", "music", 3, 0.75),
        ("sport", "sport", 2, 0.5),
        ("misc", "misc", 1, 0.25),
    ]
    assert b10["artist"] == [("a1", "Artist A", 2, 0.5), ("a2", "Artist B", 2, 0.5)]
    # Brand 11: one event (3), no attendees.
    assert (brands[11]["attendees"], brands[11]["tickets"]) == (0, 0)


def test_documents_and_brand_pages_are_written_from_the_statistics(computed):
    lake, metrics = computed
    # 3 events and 2 brands published; a document per event, a document and a page per brand.
    assert metrics == {"rows_out": 3 + 2, "documents": 3 + 2 * 2}
    with open(lake.exports("social", "events", "1.json"), encoding="utf-8") as handle:
        e1 = json.load(handle)
    assert {k: e1[k] for k in ("event_id", "brand_id", "name", "starts_at", "as_of")} == {
        "event_id": 1,
        "brand_id": 10,
        "name": "Spring Gig",
        "starts_at": "2026-06-01T19:00:00Z",
        "as_of": "2026-11-02",
    }
    assert (e1["attendees"], e1["tickets"], e1["schema_version"]) == (3, 7, 1)
    assert e1["gender"][0] == {"key": "female", "count": 1, "share": 0.3333}
    assert e1["top_pages"][0] == {
        "rank": 1,
        "id": "p1",
        "name": "Page One",
        "count": 2,
        "share": 0.6667,
    }
    assert [a["id"] for a in e1["top_artists"]] == ["a1", "a2"]
    with open(lake.exports("social", "brands", "10.json"), encoding="utf-8") as handle:
        b10 = json.load(handle)
    assert (b10["events"], b10["attendees"], b10["tickets"]) == (2, 4, 13)
    with open(lake.exports("social", "brands", "10.html"), encoding="utf-8") as handle:
        page = handle.read()
    assert "4 attendees bought 13 tickets for 2 events" in page
    assert 'data-label="Artist A" data-count="2"' in page
    with open(lake.exports("social", "brands", "11.html"), encoding="utf-8") as handle:
        assert "No data." in handle.read()


def published(spark, lake, table: str) -> list[tuple]:
    df = spark.read.parquet(lake.curated(table, DAY2)).drop("shard")
    return sorted(tuple(r) for r in df.collect())


def test_union_of_shards_equals_the_unsharded_result_and_a_rerun_changes_nothing(
    social_lake, spark
):
    settings, lake, _ = social_lake
    run_task(settings, DAY2)
    unsharded = {t: published(spark, lake, t) for t in ("social_event_stats", "social_brand_stats")}
    documents = read_documents(lake)
    for total in (2, 3):
        for shard in Shard.all_of(total):
            run_task(settings, DAY2, shard)
        assert {t: published(spark, lake, t) for t in unsharded} == unsharded
        folders = sorted(os.listdir(lake.curated("social_event_stats", DAY2)))
        assert folders == [f"shard={s.label}" for s in Shard.all_of(total)]
        assert read_documents(lake) == documents
    # Shard 2 of 3 owns event 1 (1 % 3 + 1) and brand 10 (10 % 3 + 1); run it again alone.
    before = read_documents(lake), {t: published(spark, lake, t) for t in unsharded}
    run_task(settings, DAY2, Shard(2, 3))
    assert (read_documents(lake), {t: published(spark, lake, t) for t in unsharded}) == before


def test_an_id_range_replaces_only_its_ids(social_lake, spark, monkeypatch):
    settings, lake, _ = social_lake
    social_analytics.run(settings, lake, DAY2)
    whole = published(spark, lake, "social_event_stats")
    monkeypatch.setenv("EVENT_ID_START", "2")
    monkeypatch.setenv("EVENT_ID_END", "2")
    ranged = Settings()
    assert (ranged.event_ids.start, ranged.event_ids.end) == (2, 2)
    result = social_analytics.run(ranged, lake, DAY2)
    assert result.events == 1
    assert published(spark, lake, "social_event_stats") == whole


def test_inputs_up_to_the_size_limit_are_read_as_one_partition(social_lake, spark):
    _, lake, _ = social_lake
    tables = [table for table, _ in social_analytics.INPUTS.values()]
    on_disk = sum(
        p.stat().st_size for t in tables for p in Path(lake.curated(t)).rglob("*.parquet")
    )
    inputs, one = social_analytics.read_inputs(spark, lake, DAY2, one_partition_bytes=on_disk)
    assert one and {df.rdd.getNumPartitions() for df in inputs.values()} == {1}
    _, one = social_analytics.read_inputs(spark, lake, DAY2, one_partition_bytes=on_disk - 1)
    assert not one


def read_documents(lake) -> dict[str, bytes]:
    root = lake.exports("social")
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                out[os.path.relpath(os.path.join(folder, name), root)] = handle.read()
    return out
