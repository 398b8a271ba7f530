"""listings_postprocessing (DESIGN §5.5) on hand-written scrape lines: price text, missing values,
duplicate ids, bad rows; and the per-neighbourhood statistics worked out by hand."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest

from orchestration.devtools.generate import GenerateOptions, listing_rows
from spark_jobs.common.contracts import LISTINGS
from spark_jobs.common.job import check
from spark_jobs.common.validation import accepted, validate_csv
from spark_jobs.listings_postprocessing import neighbourhood_stats, transform_listings

pytestmark = pytest.mark.spark

HEADER = LISTINGS.csv_header
LINES = [
    HEADER,
    '1,Loft,10,Camden,Entire home/apt,"$1,234.50",2,10,100,2026-01-02',
    "2,Room,11,Camden,Private room,$80.00,1,0,0,",
    "3,,12,Hackney,Shared room,45,3,5,365,2025-12-31",
    # the same listing scraped twice: the copy reviewed most recently is kept
    "4,Old copy,13,Hackney,Hotel room,$100,1,4,10,2025-01-01",
    "4,New copy,13,Hackney,Hotel room,$120,1,5,20,2025-06-01",
    "5,No price,14,Camden,Private room,,1,1,1,2025-01-01",
    "6,Castle,15,Camden,Castle,$10,1,1,1,2025-01-01",
    "7,Short,16,Camden,Private room,$10",
    "8,Forever,17,Camden,Private room,$10,1,1,forever,2025-01-01",
    "9,Too long,18,Camden,Private room,$10,1,1,400,2025-01-01",
    "10,Bad date,19,Camden,Private room,$10,1,1,1,2025-02-30",
    "11,Bad price,20,Camden,Private room,ten dollars,1,1,1,2025-01-01",
    "x12,Bad id,21,Camden,Private room,$10,1,1,1,2025-01-01",
]
EXPECTED_REASONS = {
    5: "missing_field:price",
    6: "unknown_value:room_type",
    7: "malformed_csv",
    8: "wrong_type:availability_365",
    9: "out_of_range:availability_365",
    10: "bad_date:last_review",
    11: "wrong_type:price",
    12: "wrong_type:id",
}


def checked(spark):
    df = spark.createDataFrame(
        [(line, "listings.csv") for line in LINES], "value string, source_file string"
    )
    return check(df, LISTINGS, 65536, validate_csv)


def test_header_dropped_and_every_bad_row_has_its_reason(spark):
    rows = checked(spark).collect()
    assert len(rows) == len(LINES) - 1  # the header is not a record
    by_text = {r["value"]: r["_reason"] for r in rows}
    assert by_text[LINES[4]] == "duplicate:id"  # listing 4's older copy
    assert by_text[LINES[5]] is None
    for index, reason in EXPECTED_REASONS.items():
        assert by_text[LINES[index + 1]] == reason, LINES[index + 1]
    good = [LINES[1], LINES[2], LINES[3], LINES[5]]
    assert [line for line, reason in by_text.items() if reason is None] == sorted(
        good, key=[r["value"] for r in rows].index
    )


def test_accepted_listings_are_typed_and_deduped(spark):
    listings = transform_listings(accepted(checked(spark), LISTINGS))
    rows = {r["id"]: r.asDict() for r in listings.collect()}
    assert sorted(rows) == [1, 2, 3, 4]
    assert rows[1]["price"] == Decimal("1234.50")
    assert rows[1]["last_review"] == dt.date(2026, 1, 2)
    assert rows[2]["price"] == Decimal("80.00") and rows[2]["last_review"] is None
    assert rows[3]["name"] is None and rows[3]["price"] == Decimal("45.00")
    assert rows[4]["name"] == "New copy" and rows[4]["price"] == Decimal("120.00")


def test_neighbourhood_statistics_worked_by_hand(spark):
    listings = transform_listings(accepted(checked(spark), LISTINGS))
    stats = {r["neighbourhood"]: r.asDict() for r in neighbourhood_stats(listings).collect()}
    # Camden: 1234.50 (availability 100) and 80.00 (availability 0)
    assert stats["Camden"]["listings"] == 2
    assert stats["Camden"]["min_price"] == Decimal("80.00")
    assert stats["Camden"]["max_price"] == Decimal("1234.50")
    assert stats["Camden"]["mean_price"] == pytest.approx(657.25)
    assert stats["Camden"]["median_price"] == pytest.approx(657.25)
    assert stats["Camden"]["mean_availability_365"] == pytest.approx(50.0)
    assert stats["Camden"]["available_share"] == pytest.approx(0.5)
    # Hackney: 45 (365 nights) and 120 (20 nights)
    assert stats["Hackney"]["mean_price"] == pytest.approx(82.5)
    assert stats["Hackney"]["median_price"] == pytest.approx(82.5)
    assert stats["Hackney"]["mean_availability_365"] == pytest.approx(192.5)
    assert stats["Hackney"]["available_share"] == pytest.approx(1.0)


def test_generated_scrape_has_dirt_and_is_deterministic():
    opts = GenerateOptions(dt.date(2026, 1, 5), 1, 20_000, seed=7)
    rows = listing_rows(opts, opts.start)
    assert rows == listing_rows(opts, opts.start)
    assert len(rows) > opts.listings  # duplicates
    assert any('"$' in r for r in rows)  # prices with thousands separators
    assert any(",Castle," in r for r in rows)
    ids = [r.split(",", 1)[0] for r in rows]
    assert len(set(ids)) == opts.listings


def test_listings_weekly_runs_locally(settings, lake):
    from orchestration.devtools.generate import write_listings
    from orchestration.local.runner import Runner
    from orchestration.pipelines import PIPELINES

    day = dt.date(2026, 1, 5)
    opts = GenerateOptions(day, 1, 10_000, seed=3)
    write_listings(lake, opts, day)
    lines = len(listing_rows(opts, day))
    result = Runner(settings).run(PIPELINES["listings_weekly"], {"date": day.isoformat()})
    assert result.succeeded
    record = result.records["listings_postprocessing"]
    assert record.rows_in == lines
    assert record.rows_out + record.quarantined == lines
    assert record.quarantined > 0
    assert os.path.isdir(lake.curated("listings_neighbourhood_stats", day))
