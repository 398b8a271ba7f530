"""Synthetic raw data per DESIGN §4, deterministic for a seed, with a share of realistic anomalies.

Rows are computed in DuckDB SQL from hashes of (seed, day, row, field), so any row can be derived
independently (a duplicate delivered the next day is the same row again) and millions of rows per
day are written in seconds, split into gzip parts as a delivery stream would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field

import duckdb

from orchestration.core.lake import Lake
from orchestration.core.publishing import staging_dir_for, swap_in

OUTCOMES = ("appointment_reminder", "payment_due", "delivery_update", "survey", "marketing")
PART_BYTES = "32MB"  # compressed size of one raw part file


@dataclass(frozen=True)
class GenerateOptions:
    start: dt.date
    days: int
    scale: int
    seed: int = 42
    anomaly_rate: float = 0.02

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("--days must be at least 1")
        if self.scale < 1:
            raise ValueError("--scale must be at least 1")
        if not 0 <= self.anomaly_rate <= 0.5:
            raise ValueError("--anomaly-rate must be between 0 and 0.5")

    @property
    def clients(self) -> int:
        return min(40, 3 + self.scale // 5000)

    @property
    def customers(self) -> int:
        return max(30, self.scale // 2)

    @property
    def listings(self) -> int:
        return min(200_000, max(60, self.scale // 100))


@dataclass
class GenerateSummary:
    files: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


def _u(key: str) -> str:
    """A uniform [0, 1) draw for this row and key."""
    return f"((hash($seed, day_index, i, '{key}') % 1000000) / 1000000.0)"


def _iso(expr: str) -> str:
    return f"strftime({expr}, '%Y-%m-%dT%H:%M:%SZ')"


# One row per generated attempt of day `day_index`: its fields, fate and anomaly draws.
# SQL from this module's own fragments (_u, _iso), no input: bandit's B608 does not apply.
ATTEMPTS_MACRO = f"""
create or replace temp macro attempts(day_index) as table
with draws as (
    select
        i,
        day_index as day_no,
        hash($seed, day_index, i, 'customer') % $customers as customer_idx,
        hash($seed, day_index, i, 'second') % 86400 as second_of_day,
        {_u("late")} < $rate * 2 as is_late,
        1 + hash($seed, day_index, i, 'late_days') % 3 as late_days,
        ['sms', 'email', 'push', 'voice'][(1 + hash($seed, day_index, i, 'channel') % 4)::bigint] as channel,
        1 + hash($seed, day_index, i, 'experience') % 3 as experience_no,
        {_u("offset")} < 0.1 as with_offset,
        {_u("fate")} as fate,
        -ln(1 - {_u("delay")}) * 90 + case when {_u("slow")} < 0.05 then 7200 else 0 end as delay_s,
        ['twilio', 'sendgrid', 'sns', null][(1 + hash($seed, day_index, i, 'provider') % 4)::bigint] as provider,
        {_u("anomaly")} as anomaly
    from range($scale) as t(i)
),
located as (
    select
        *,
        hash($seed, customer_idx, 'client') % $clients as client_idx,
        cast($start as timestamp) + to_days(day_index::integer) + to_seconds(second_of_day::bigint)
            - case when is_late then to_days(late_days::integer) else interval 0 day end as attempted_at
    from draws
),
records as (
    select
        *,
        'ntf-' || strftime(cast($start as date) + day_index::integer, '%Y%m%d') || '-' || lpad(i::varchar, 8, '0') as notification_id,
        'client-' || lpad((client_idx + 1)::varchar, 3, '0') as client_id,
        'cust-' || lpad((customer_idx + 1)::varchar, 7, '0') as customer_id,
        'exp-' || lpad((client_idx + 1)::varchar, 3, '0') || '-' || experience_no as experience_id,
        case when with_offset
            then strftime(attempted_at + interval 2 hour, '%Y-%m-%dT%H:%M:%S') || '+02:00'
            else {_iso("attempted_at")} end as attempted_text,
        case channel
            when 'sms' then '+44770' || lpad(customer_idx::varchar, 7, '0')
            when 'voice' then '+44770' || lpad(customer_idx::varchar, 7, '0')
            when 'email' then 'cust-' || lpad((customer_idx + 1)::varchar, 7, '0') || '@example.com'
        end as destination
    from located
)
select
    *,
    json_object('notification_id', notification_id, 'client_id', client_id, 'customer_id', customer_id,
                'experience_id', experience_id, 'channel', channel, 'attempted_at', attempted_text,
                'destination', destination)::varchar as line,
    anomaly < $rate as is_malformed,
    case second_of_day % 6
        when 0 then left(json_object('notification_id', notification_id, 'client_id', client_id)::varchar, 30)
        when 1 then json_object('notification_id', notification_id, 'client_id', client_id,
                                'experience_id', experience_id, 'channel', channel, 'attempted_at', attempted_text)::varchar
        when 2 then json_object('notification_id', notification_id, 'client_id', client_id, 'customer_id', customer_id,
                                'experience_id', experience_id, 'channel', 'pigeon', 'attempted_at', attempted_text)::varchar
        when 3 then json_object('notification_id', notification_id, 'client_id', client_id, 'customer_id', customer_id,
                                'experience_id', experience_id, 'channel', channel, 'attempted_at', '2026-02-30T25:61:00Z')::varchar
        when 4 then json_object('notification_id', notification_id, 'client_id', 12345, 'customer_id', customer_id,
                                'experience_id', experience_id, 'channel', channel, 'attempted_at', attempted_text)::varchar
        else '[1, 2, 3]'
    end as malformed_line
from records
"""  # nosec B608

# The lines of one landing day's attempts file: valid rows, malformed rows, duplicates in the same
# file, and yesterday's rows delivered again (at-least-once upstream).
ATTEMPT_LINES = """
select case when is_malformed then malformed_line else line end as line
from attempts($day_index)
union all
select line from attempts($day_index) where not is_malformed and anomaly < $rate * 1.5
union all
select line from attempts($day_index - 1)
where $day_index > 0 and not is_malformed and anomaly >= $rate * 1.5 and anomaly < $rate * 2
union all
select json_object('notification_id', 'ntf-' || strftime(cast($start as date) + $day_index, '%Y%m%d') || '-oversized',
                   'client_id', 'client-001', 'customer_id', 'cust-0000001', 'experience_id', 'exp-001-1',
                   'channel', 'email', 'attempted_at', strftime(cast($start as date) + $day_index, '%Y-%m-%dT00:00:00Z'),
                   'destination', repeat('x', 70000))::varchar
where $rate > 0
"""

# Receipts of the attempts of days `day_index - 1` and `day_index` that land on `day_index`
# (a receipt lands on the day it is reported; delays never exceed a day).
# SQL from this module's own fragments (_u, _iso), no input: bandit's B608 does not apply.
RECEIPT_LINES = f"""
with sources as (
    select * from attempts($day_index - 1) where $day_index > 0
    union all
    select * from attempts($day_index)
),
attempted as (
    select *, attempted_at + to_seconds(delay_s) as first_report
    from sources where not is_malformed
),
receipts as (
    select notification_id, first_report as reported_at, 'delivered' as status, provider, anomaly, attempted_at, day_no, true as is_last
    from attempted where fate < 0.78
    union all
    select notification_id, first_report, 'failed', provider, anomaly, attempted_at, day_no, false
    from attempted where fate >= 0.78 and fate < 0.88
    union all
    select notification_id, first_report + interval 15 minute, 'delivered', provider, anomaly, attempted_at, day_no, true
    from attempted where fate >= 0.78 and fate < 0.88
    union all
    select notification_id, first_report, case when fate < 0.92 then 'failed' else 'undeliverable' end,
           provider, anomaly, attempted_at, day_no, true
    from attempted where fate >= 0.88 and fate < 0.96
),
skewed as (
    select
        *,
        -- provider clock skew: the last receipt stamped before the attempt
        case when is_last and anomaly > 1 - $rate then attempted_at - interval 30 second
             else reported_at end as stamped_at
    from receipts
),
landed as (
    select *, greatest(cast(stamped_at as date), cast($start as date) + day_no::integer) as landing
    from skewed
),
lines as (
    select json_object('notification_id', notification_id, 'status', status,
                       'reported_at', {_iso("stamped_at")}, 'provider', provider)::varchar as line, anomaly
    from landed
    where landing = cast($start as date) + $day_index
)
select line from lines
union all
select line from lines where $rate > 0 and anomaly > 1 - $rate * 3
union all
select json_object('notification_id', 'ntf-orphan-' || strftime(cast($start as date) + $day_index, '%Y%m%d') || '-' || lpad(k::varchar, 6, '0'),
                   'status', 'delivered',
                   'reported_at', {_iso("cast($start as timestamp) + to_days($day_index) + to_seconds(k)")})::varchar
from range(greatest(1, ($scale * $rate)::bigint)) as t(k)
where $rate > 0
union all
select '{{"notification_id": "x", "status": "lost"}}' where $rate > 0
"""  # nosec B608

CUSTOMERS_CSV = """
with draws as (
    select
        c,
        hash($seed, c, 'client') % $clients as client_idx,
        (hash($seed, c, 'known') % 1000000) / 1000000.0 as u_unknown,
        (hash($seed, c, 'test') % 1000000) / 1000000.0 as u_test,
        hash($seed, c, 'updated') % 60 as updated_days
    from range($customers) as t(c)
)
select
    'cust-' || lpad((c + 1)::varchar, 7, '0') as customer_id,
    'client-' || lpad((client_idx + 1)::varchar, 3, '0') as client_id,
    case when u_test < greatest($rate * 1.5, 0.03) then 'true' else 'false' end as is_test,
    ['retail', 'smb', 'enterprise'][(1 + c % 3)::bigint] as segment,
    strftime(cast($start as timestamp) - interval 90 day, '%Y-%m-%dT%H:%M:%SZ') as created_at,
    strftime(cast($start as timestamp) - interval 90 day + to_days(updated_days::integer), '%Y-%m-%dT%H:%M:%SZ') as updated_at
from draws
where u_unknown >= greatest($rate, 0.01)  -- the rest are never loaded: customer_known = false
order by c
"""

LINES_FORMAT = (
    "format csv, header false, quote '', escape '', delimiter '\x01', compression gzip, "
    f"file_size_bytes '{PART_BYTES}', filename_pattern 'part-{{i}}', file_extension 'jsonl.gz'"
)


def _params(opts: GenerateOptions, **extra) -> dict:
    return {
        "seed": opts.seed,
        "scale": opts.scale,
        "rate": opts.anomaly_rate,
        "start": opts.start.isoformat(),
        "clients": opts.clients,
        "customers": opts.customers,
        **extra,
    }


def _copy_lines(con: duckdb.DuckDBPyConnection, query: str, params: dict, folder: str) -> int:
    """Write a query's `line` column as gzip JSON-lines parts into `folder`, replacing it."""
    staging = staging_dir_for(folder)
    used = {k: v for k, v in params.items() if f"${k}" in query}
    rows = con.execute(f"copy ({query}) to '{staging}' ({LINES_FORMAT})", used).fetchall()[0][0]
    swap_in(staging, folder)
    return int(rows)


def _experience_snapshot(opts: GenerateOptions, day_index: int) -> list[str]:
    midnight = dt.datetime.combine(opts.start + dt.timedelta(days=day_index), dt.time(), dt.UTC)
    first = dt.datetime.combine(opts.start, dt.time(), dt.UTC)
    lines = []
    for client in range(opts.clients):
        for j in range(1, 4):
            # Outcomes are re-assigned mid-window so that the latest snapshot matters.
            shifted = day_index >= opts.days // 2 and j == 3
            lines.append(
                json.dumps(
                    {
                        "experience_id": f"exp-{client + 1:03d}-{j}",
                        "client_id": f"client-{client + 1:03d}",
                        "experience_name": f"{OUTCOMES[(client + j) % 5].replace('_', ' ')} {j}",
                        "outcome": OUTCOMES[(client + j + (1 if shifted else 0)) % len(OUTCOMES)],
                        "updated_at": (midnight if shifted else first).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                    }
                )
            )
    return lines


def generate(lake: Lake, opts: GenerateOptions) -> GenerateSummary:
    """Write raw notifications, receipts, experiences and a customers file for the window."""
    summary = GenerateSummary()
    with duckdb.connect(config={"threads": 1}) as con:
        con.execute("set enable_progress_bar = false")
        # One thread: the same seed writes the same bytes, line for line.
        con.execute(
            ATTEMPTS_MACRO.replace("$seed", str(opts.seed))
            .replace("$customers", str(opts.customers))
            .replace("$clients", str(opts.clients))
            .replace("$rate", repr(opts.anomaly_rate))
            .replace("$start", f"'{opts.start.isoformat()}'")
            .replace("$scale", str(opts.scale))
        )
        customers = os.path.join(lake.incoming("customers"), f"customers_{opts.start}.csv")
        os.makedirs(os.path.dirname(customers), exist_ok=True)
        params = _params(opts)
        used = {k: v for k, v in params.items() if f"${k}" in CUSTOMERS_CSV}
        count = con.execute(
            f"copy ({CUSTOMERS_CSV}) to '{customers}.tmp' (format csv, header true)", used
        ).fetchall()[0][0]
        os.replace(customers + ".tmp", customers)
        summary.files.append(customers)
        summary.counts["customers"] = int(count)

        for day_index in range(opts.days):
            day = opts.start + dt.timedelta(days=day_index)
            params = _params(opts, day_index=day_index)
            folder = lake.raw("notifications/attempted", day)
            summary.counts["attempt_lines"] += _copy_lines(con, ATTEMPT_LINES, params, folder)
            summary.files.append(folder)
            folder = lake.raw("notifications/delivered", day)
            summary.counts["receipt_lines"] += _copy_lines(con, RECEIPT_LINES, params, folder)
            summary.files.append(folder)

            folder = lake.raw("experiences", day)
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, "experiences.jsonl")
            with open(path + ".tmp", "w", encoding="utf-8") as handle:
                handle.write("\n".join(_experience_snapshot(opts, day_index)) + "\n")
            os.replace(path + ".tmp", path)
            summary.files.append(path)
            for dataset, lines in write_social(lake, opts, day_index).items():
                summary.counts[f"{dataset.replace('/', '_')}_lines"] += lines
            path, lines = write_usage_events(lake, opts, day)
            summary.files.append(path)
            summary.counts["usage_event_lines"] += lines
            if day_index == 0 or day.weekday() == 0:  # the weekly scrape lands on Mondays
                path = write_listings(lake, opts, day)
                summary.files.append(path)
                summary.counts["listing_lines"] += opts.listings
    return summary


LISTINGS_HEADER = (
    "id,name,host_id,neighbourhood,room_type,price,minimum_nights,number_of_reviews,"
    "availability_365,last_review"
)
NEIGHBOURHOODS = ("Camden", "Hackney", "Islington", "Lambeth", "Southwark", "Westminster")
ROOM_TYPES = ("Entire home/apt", "Private room", "Shared room", "Hotel room")


def listing_rows(opts: GenerateOptions, day: dt.date) -> list[str]:
    """A listings scrape (§4) with the usual dirt: prices as text ("$1,234.00"), missing values,
    duplicate ids, unknown room types, short rows. Deterministic for (seed, day)."""
    rng = random.Random(f"{opts.seed}-listings-{day.isoformat()}")
    rows = []
    for i in range(opts.listings):
        listing_id = 1000 + i
        price = rng.choice([45, 60, 85, 120, 150, 240, 1250, 2100]) + rng.choice([0, 0.5])
        price_text = f'"${price:,.2f}"' if price >= 1000 else f"${price:.2f}"
        reviews = rng.randrange(0, 300)
        last_review = (day - dt.timedelta(days=rng.randrange(1, 900))).isoformat()
        fields = [
            str(listing_id),
            f"Flat {i} near the {rng.choice(['park', 'station', 'river'])}",
            str(rng.randrange(1, opts.listings // 3 + 2)),
            rng.choice(NEIGHBOURHOODS),
            rng.choice(ROOM_TYPES),
            price_text,
            str(rng.choice([1, 2, 3, 7, 30])),
            str(reviews),
            str(rng.randrange(0, 366)),
            last_review if reviews else "",
        ]
        draw = rng.random()
        if draw < opts.anomaly_rate:
            fields[5] = ""  # missing price
        elif draw < 2 * opts.anomaly_rate:
            fields[4] = "Castle"  # unknown room type
        elif draw < 3 * opts.anomaly_rate:
            fields = fields[:6]  # a short row
        elif draw < 4 * opts.anomaly_rate:
            fields[8] = "forever"  # not a number
        rows.append(",".join(fields))
        if rng.random() < opts.anomaly_rate:
            rows.append(rows[-1])  # the scraper saw the listing twice
    return rows


def write_listings(lake: Lake, opts: GenerateOptions, day: dt.date) -> str:
    folder = lake.raw("listings", day)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "listings.csv")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write("\n".join([LISTINGS_HEADER, *listing_rows(opts, day)]) + "\n")
    os.replace(path + ".tmp", path)
    return path


USAGE_FORMATS = ("video", "audio", "ebook", "article")
USAGE_EVENTS_PER_DAY = 5000  # at most: usage is a side dataset, kept small at benchmark scales


def usage_event_lines(opts: GenerateOptions, day: dt.date) -> list[str]:
    """A day of usage events as producers send them to Firehose (§5.4): mostly valid, with
    re-sent duplicates (at-least-once), epoch-millisecond timestamps and a share of bad records."""
    rng = random.Random(f"{opts.seed}-usage-{day}")
    users = max(10, opts.scale // 20)
    midnight = dt.datetime.combine(day, dt.time(), dt.UTC)
    lines = []
    for index in range(min(opts.scale, USAGE_EVENTS_PER_DAY)):
        at = midnight + dt.timedelta(seconds=rng.randrange(86400))
        event = {
            "id": f"ev-{day:%Y%m%d}-{index:07d}",
            "userId": f"user-{rng.randrange(users):05d}",
            "format": USAGE_FORMATS[min(int(rng.expovariate(1.2)), len(USAGE_FORMATS) - 1)],
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }
        draw = rng.random()
        if draw < opts.anomaly_rate:
            event["timestamp"] = int(at.timestamp() * 1000)  # epoch ms: valid too
        elif draw < 2 * opts.anomaly_rate:
            del event["userId"]  # missing field
        elif draw < 2.5 * opts.anomaly_rate:
            event["timestamp"] = "soon"  # unparseable
        elif draw < 3 * opts.anomaly_rate:
            lines.append(json.dumps(event)[:-9])  # truncated JSON
            continue
        lines.append(json.dumps(event))
        if rng.random() < opts.anomaly_rate:
            lines.append(lines[-1])  # delivered twice
    return lines


def write_usage_events(lake: Lake, opts: GenerateOptions, day: dt.date) -> tuple[str, int]:
    lines = usage_event_lines(opts, day)
    folder = lake.raw("usage_events", day)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "events.jsonl")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    return path, len(lines)


# --- ticketing, users and social datasets (§4, §5.2) ------------------------------------------

GENRES = ("pop", "rock", "hip-hop", "electronic", "jazz", "classical", "folk")
PAGE_CATEGORIES = ("music", "sport", "food", "travel", "fashion", "tech", "film")


@dataclass(frozen=True)
class SocialSizes:
    events: int
    brands: int
    users: int
    pages: int = 60
    artists: int = 50

    @classmethod
    def of(cls, opts: GenerateOptions) -> SocialSizes:
        events = min(500, max(20, opts.scale // 100))
        return cls(
            events=events, brands=max(4, events // 5), users=min(50_000, max(300, opts.scale // 4))
        )


def _zipf_weights(n: int, exponent: float = 1.2) -> list[float]:
    """A few huge, many small: the k-th most popular gets 1/k^exponent of the draws."""
    return [1 / (k + 1) ** exponent for k in range(n)]


def _user(rng: random.Random, user_no: int) -> dict:
    draw = rng.random()
    gender = "female" if draw < 0.45 else "male" if draw < 0.9 else "other" if draw < 0.94 else None
    birth_year = None if rng.random() < 0.08 else round(rng.triangular(1950, 2012, 1996))
    return {
        "user_id": f"user-{user_no:06d}",
        "gender": gender,
        "birth_year": birth_year,
        "country": rng.choice(["GB", "FR", "DE", "ES", "IE", "NL"]),
    }


def paid_orders(opts: GenerateOptions, day_index: int) -> list[dict]:
    """The orders placed (and landed) on a day: events drawn by a skewed popularity."""
    sizes = SocialSizes.of(opts)
    rng = random.Random(f"{opts.seed}-orders-{day_index}")
    day = opts.start + dt.timedelta(days=day_index)
    weights = _zipf_weights(sizes.events)
    orders = []
    for i in range(max(1, sizes.users * 2 // opts.days)):
        at = dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(
            seconds=rng.randrange(86400)
        )
        orders.append(
            {
                "order_id": f"ord-{day:%Y%m%d}-{i:06d}",
                "event_id": 100 + rng.choices(range(sizes.events), weights)[0],
                "user_id": f"user-{rng.randrange(sizes.users):06d}",
                "quantity": rng.choice([1, 1, 1, 2, 2, 3, 4, 6]),
                "status": "paid",
                "ordered_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return orders


def social_lines(opts: GenerateOptions, day_index: int) -> dict[str, list[str]]:
    """One landing day of each social dataset (§4): events announced that day, the day's orders
    (event popularity skewed; yesterday's refunds), new users' profiles (missing gender and birth
    years) with a few updated profiles, and new users' likes and listens; plus a share of bad
    records (wrong types, unknown values, out-of-range numbers, broken JSON)."""
    sizes = SocialSizes.of(opts)
    day = opts.start + dt.timedelta(days=day_index)
    lines: dict[str, list[str]] = {}

    events = []
    for n in range(sizes.events):
        if n % opts.days != day_index:
            continue
        event_rng = random.Random(f"{opts.seed}-event-{n}")
        starts = dt.datetime.combine(opts.start, dt.time(19), dt.UTC) + dt.timedelta(
            days=event_rng.randrange(-60, 120)
        )
        events.append(
            {
                "event_id": 100 + n,
                "brand_id": 1 + (n * 7) % sizes.brands,
                "name": f"Event {100 + n}",
                "starts_at": starts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    lines["ticketing/events"] = [json.dumps(e) for e in events]

    orders = paid_orders(opts, day_index)
    if day_index > 0:  # refunds of yesterday's orders land today
        refunded = [
            o
            for o in paid_orders(opts, day_index - 1)
            if random.Random(o["order_id"]).random() < 0.03
        ]
        orders += [{**o, "status": "refunded"} for o in refunded]
    lines["ticketing/orders"] = [json.dumps(o) for o in orders]

    users = [
        _user(random.Random(f"{opts.seed}-user-{k}"), k)
        for k in range(sizes.users)
        if k % opts.days == day_index
    ]
    # A few earlier users complete their profile (the latest landing wins).
    for k in range(0, sizes.users, 50):
        if day_index and k % opts.days < day_index:
            profile = _user(random.Random(f"{opts.seed}-user-{k}"), k)
            users.append({**profile, "gender": profile["gender"] or "other"})
    lines["users"] = [json.dumps(u) for u in users]

    page_weights, artist_weights = (
        _zipf_weights(sizes.pages, 1.0),
        _zipf_weights(sizes.artists, 1.0),
    )
    likes, listens = [], []
    for user in users:
        user_rng = random.Random(f"{opts.seed}-taste-{user['user_id']}")
        for p in sorted(
            set(user_rng.choices(range(sizes.pages), page_weights, k=user_rng.randrange(0, 9)))
        ):
            likes.append(
                {
                    "user_id": user["user_id"],
                    "page_id": f"page-{p:03d}",
                    "page_name": f"Page {p}",
                    "category": PAGE_CATEGORIES[p % len(PAGE_CATEGORIES)],
                }
            )
        for a in sorted(
            set(user_rng.choices(range(sizes.artists), artist_weights, k=user_rng.randrange(0, 7)))
        ):
            listens.append(
                {
                    "user_id": user["user_id"],
                    "artist_id": f"artist-{a:03d}",
                    "artist_name": f"Artist {a}",
                    "genre": GENRES[a % len(GENRES)],
                    "play_count": user_rng.randrange(1, 500),
                }
            )
    lines["social/likes"] = [json.dumps(x) for x in likes]
    lines["social/listens"] = [json.dumps(x) for x in listens]

    if opts.anomaly_rate > 0:
        stamp = day.strftime("%Y%m%d")
        lines["ticketing/events"].append(
            json.dumps(
                {"event_id": f"E-{stamp}", "brand_id": 1, "starts_at": "2026-01-01T00:00:00Z"}
            )
        )
        lines["ticketing/orders"] += [
            json.dumps({**orders[0], "order_id": f"ord-{stamp}-bad-qty", "quantity": 0}),
            json.dumps({**orders[0], "order_id": f"ord-{stamp}-bad-status", "status": "pending"}),
            json.dumps(orders[0])[:-12],
        ]
        lines["users"] += [
            json.dumps({"user_id": f"user-bad-{stamp}-1", "gender": "robot", "birth_year": 1990}),
            json.dumps({"user_id": f"user-bad-{stamp}-2", "gender": "male", "birth_year": 3001}),
        ]
        lines["social/likes"].append(json.dumps({"user_id": "user-000001"}))
    return lines


def write_social(lake: Lake, opts: GenerateOptions, day_index: int) -> dict[str, int]:
    """Write one landing day of every social dataset; returns lines per dataset."""
    day = opts.start + dt.timedelta(days=day_index)
    counts = {}
    for dataset, lines in social_lines(opts, day_index).items():
        folder = lake.raw(dataset, day)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "part-0.jsonl")
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n" if lines else "")
        os.replace(path + ".tmp", path)
        counts[dataset] = len(lines)
    return counts
