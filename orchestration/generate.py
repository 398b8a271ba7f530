"""Synthetic raw data per DESIGN §4, deterministic for a seed, with a share of realistic anomalies."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from orchestration.lake import Lake

CHANNELS = ("sms", "email", "push", "voice")
PROVIDERS = ("twilio", "sendgrid", "sns", None)
OUTCOMES = ("appointment_reminder", "payment_due", "delivery_update", "survey", "marketing")
SEGMENTS = ("retail", "smb", "enterprise")
UTC = dt.UTC


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


@dataclass
class GenerateSummary:
    files: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class World:
    """The fixed cast of a dataset: clients, their customers and experiences."""

    clients: list[str]
    customers: list[str]
    customer_client: list[int]
    experiences: dict[int, list[str]]


def build_world(scale: int, rng: np.random.Generator) -> World:
    n_clients = min(40, 3 + scale // 5000)
    n_customers = max(30, scale // 2)
    clients = [f"client-{i:03d}" for i in range(1, n_clients + 1)]
    customers = [f"cust-{i:07d}" for i in range(1, n_customers + 1)]
    customer_client = [int(x) for x in rng.integers(0, n_clients, n_customers)]
    experiences = {c: [f"exp-{c + 1:03d}-{j}" for j in range(1, 4)] for c in range(n_clients)}
    return World(clients, customers, customer_client, experiences)


def iso(ts: dt.datetime, offset_hours: int = 0) -> str:
    """ISO-8601 with Z, or the same instant written with a +HH:00 offset."""
    if offset_hours:
        tz = dt.timezone(dt.timedelta(hours=offset_hours))
        return ts.astimezone(tz).isoformat(timespec="seconds")
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_lines(path: str, lines: Iterable[str], compress: bool) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    opener = gzip.open if compress else open
    with opener(tmp, "wt", encoding="utf-8", newline="\n") as handle:  # type: ignore[operator]
        for line in lines:
            handle.write(line + "\n")
    os.replace(tmp, path)


def _malformed_attempt(kind: int, good: dict) -> str:
    bad = dict(good)
    if kind == 0:
        return json.dumps(good)[: max(5, len(json.dumps(good)) // 2)]  # truncated line
    if kind == 1:
        bad.pop("customer_id")
    elif kind == 2:
        bad["channel"] = "pigeon"
    elif kind == 3:
        bad["attempted_at"] = "2026-02-30T25:61:00Z"
    elif kind == 4:
        bad["client_id"] = 12345
    elif kind == 5:
        return "[1, 2, 3]"
    return json.dumps(bad)


def _customers_csv(world: World, start: dt.date, rng: np.random.Generator, rate: float):
    """Rows of the customers file: most customers, a few unknown, a share of test customers."""
    created = dt.datetime.combine(start - dt.timedelta(days=90), dt.time(), UTC)
    rows = []
    for idx, customer in enumerate(world.customers):
        if rng.random() < max(rate, 0.01):
            continue  # never loaded: customer_known = false downstream
        is_test = bool(rng.random() < max(rate * 1.5, 0.03))
        updated = created + dt.timedelta(days=int(rng.integers(0, 60)))
        rows.append(
            [
                customer,
                world.clients[world.customer_client[idx]],
                str(is_test).lower(),
                SEGMENTS[idx % len(SEGMENTS)],
                iso(created),
                iso(updated),
            ]
        )
    return rows


def generate(lake: Lake, opts: GenerateOptions) -> GenerateSummary:
    """Write raw notifications, receipts, experiences and a customers file for the window."""
    rng = np.random.default_rng(opts.seed)
    world = build_world(opts.scale, rng)
    summary = GenerateSummary()
    end = opts.start + dt.timedelta(days=opts.days - 1)
    receipts_by_day: dict[dt.date, list[str]] = {}
    rate = opts.anomaly_rate
    carried: list[str] = []  # attempts delivered again on the next landing day

    customers_path = os.path.join(lake.incoming("customers"), f"customers_{opts.start}.csv")
    rows = _customers_csv(world, opts.start, rng, rate)
    os.makedirs(os.path.dirname(customers_path), exist_ok=True)
    with open(customers_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["customer_id", "client_id", "is_test", "segment", "created_at", "updated_at"]
        )
        writer.writerows(rows)
    summary.files.append(customers_path)
    summary.counts["customers"] += len(rows)

    for day_index in range(opts.days):
        day = opts.start + dt.timedelta(days=day_index)
        midnight = dt.datetime.combine(day, dt.time(), UTC)
        n = opts.scale
        cust = rng.integers(0, len(world.customers), n)
        seconds = rng.integers(0, 86400, n)
        late = rng.random(n) < rate * 2
        late_days = rng.integers(1, 4, n)
        channel = rng.integers(0, len(CHANNELS), n)
        exp_pick = rng.integers(0, 3, n)
        offset = np.where(rng.random(n) < 0.1, 2, 0)
        fate = rng.random(n)
        delay = rng.exponential(90.0, n)
        slow = rng.random(n) < 0.05
        provider = rng.integers(0, len(PROVIDERS), n)
        anomaly = rng.random(n)

        attempts: list[str] = carried
        carried = []
        for i in range(n):
            c = int(cust[i])
            client_idx = world.customer_client[c]
            attempted = midnight + dt.timedelta(seconds=int(seconds[i]))
            if late[i]:
                attempted -= dt.timedelta(days=int(late_days[i]))
            ch = CHANNELS[channel[i]]
            record = {
                "notification_id": f"ntf-{day:%Y%m%d}-{i:08d}",
                "client_id": world.clients[client_idx],
                "customer_id": world.customers[c],
                "experience_id": world.experiences[client_idx][exp_pick[i]],
                "channel": ch,
                "attempted_at": iso(attempted, int(offset[i])),
            }
            if ch in ("sms", "voice"):
                record["destination"] = f"+44770{c:07d}"
            elif ch == "email":
                record["destination"] = f"{world.customers[c]}@example.com"
            if anomaly[i] < rate:
                attempts.append(_malformed_attempt(int(seconds[i]) % 6, record))
                summary.counts["attempts_malformed"] += 1
                continue
            line = json.dumps(record)
            attempts.append(line)
            summary.counts["attempts"] += 1
            if anomaly[i] < rate * 2:
                # At-least-once upstream: the same attempt again, in this file or the next day's.
                (attempts if anomaly[i] < rate * 1.5 else carried).append(line)
                summary.counts["attempts_duplicated"] += 1

            f = fate[i]
            receipt_times: list[tuple[dt.datetime, str]] = []
            first = attempted + dt.timedelta(seconds=float(delay[i]) + (7200 if slow[i] else 0))
            if f < 0.78:
                receipt_times.append((first, "delivered"))
            elif f < 0.88:
                receipt_times.append((first, "failed"))
                receipt_times.append((first + dt.timedelta(minutes=15), "delivered"))
            elif f < 0.96:
                receipt_times.append((first, "failed" if f < 0.92 else "undeliverable"))
            if receipt_times and anomaly[i] > 1 - rate:
                # Provider clock skew: a receipt reported before the attempt.
                receipt_times[-1] = (attempted - dt.timedelta(seconds=30), receipt_times[-1][1])
                summary.counts["receipts_before_attempt"] += 1
            for reported, status in receipt_times:
                landing = max(reported.date(), day)
                if landing > end:
                    continue  # lands after the window
                receipt = {
                    "notification_id": record["notification_id"],
                    "status": status,
                    "reported_at": iso(reported),
                }
                if PROVIDERS[provider[i]]:
                    receipt["provider"] = PROVIDERS[provider[i]]
                text = json.dumps(receipt)
                bucket = receipts_by_day.setdefault(landing, [])
                bucket.append(text)
                summary.counts["receipts"] += 1
                if rate and anomaly[i] > 1 - rate * 3:
                    bucket.append(text)
                    summary.counts["receipts_duplicated"] += 1

        if rate:
            attempts.append(
                json.dumps(
                    {
                        "notification_id": f"ntf-{day:%Y%m%d}-oversized",
                        "client_id": world.clients[0],
                        "customer_id": world.customers[0],
                        "experience_id": world.experiences[0][0],
                        "channel": "email",
                        "attempted_at": iso(midnight),
                        "destination": "x" * 70000,
                    }
                )
            )
            summary.counts["attempts_malformed"] += 1
            for k in range(max(1, int(n * rate))):
                receipts_by_day.setdefault(day, []).append(
                    json.dumps(
                        {
                            "notification_id": f"ntf-orphan-{day:%Y%m%d}-{k:06d}",
                            "status": "delivered",
                            "reported_at": iso(midnight + dt.timedelta(seconds=k)),
                        }
                    )
                )
                summary.counts["receipts_orphan"] += 1
            receipts_by_day.setdefault(day, []).append('{"notification_id": "x", "status": "lost"}')
            summary.counts["receipts_malformed"] += 1

        path = os.path.join(lake.raw("notifications/attempted", day), "part-00000.jsonl.gz")
        _write_lines(path, attempts, compress=True)
        summary.files.append(path)

        snapshot = []
        for client_idx, exps in world.experiences.items():
            for j, exp in enumerate(exps):
                # Outcomes are re-assigned mid-window so the latest snapshot matters.
                shift = 1 if day_index >= opts.days // 2 and j == 2 else 0
                snapshot.append(
                    json.dumps(
                        {
                            "experience_id": exp,
                            "client_id": world.clients[client_idx],
                            "experience_name": f"{OUTCOMES[(client_idx + j) % 5].replace('_', ' ')} {j}",
                            "outcome": OUTCOMES[(client_idx + j + shift) % len(OUTCOMES)],
                            "updated_at": iso(
                                midnight
                                if shift
                                else dt.datetime.combine(opts.start, dt.time(), UTC)
                            ),
                        }
                    )
                )
        path = os.path.join(lake.raw("experiences", day), "experiences.jsonl")
        _write_lines(path, snapshot, compress=False)
        summary.files.append(path)

    for day, lines in sorted(receipts_by_day.items()):
        path = os.path.join(lake.raw("notifications/delivered", day), "part-00000.jsonl")
        _write_lines(path, lines, compress=False)
        summary.files.append(path)
    for day_index in range(opts.days):
        day = opts.start + dt.timedelta(days=day_index)
        path = os.path.join(lake.raw("notifications/delivered", day), "part-00000.jsonl")
        if day not in receipts_by_day:
            _write_lines(path, [], compress=False)
    return summary
