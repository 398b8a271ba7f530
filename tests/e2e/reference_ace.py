"""A second, plain-Python implementation of DESIGN §4 validation and §5.1 ACE units, written
independently of the Spark jobs and dbt models, to check them against on generated data."""

from __future__ import annotations

import csv
import datetime as dt
import glob
import gzip
import json
import os
import re
from collections import defaultdict

CHANNELS = {"sms", "email", "push", "voice"}
STATUSES = {"delivered", "failed", "undeliverable"}
MAX_LINE_BYTES = 65536
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$")


def read_lines(folder: str) -> list[str]:
    lines: list[str] = []
    for path in sorted(glob.glob(os.path.join(folder, "*"))):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            lines += handle.read().splitlines()
    return lines


def parse_ts(value) -> dt.datetime | None:
    if not isinstance(value, str) or not ISO.match(value):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def valid_record(line: str, required: list[str], optional: list[str], enums: dict, stamp: str):
    if len(line.encode()) > MAX_LINE_BYTES:
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    for name in required:
        if not isinstance(record.get(name), str):
            return None
    for name in optional:
        if record.get(name) is not None and not isinstance(record[name], str):
            return None
    for name, allowed in enums.items():
        if record[name] not in allowed:
            return None
    record[stamp] = parse_ts(record[stamp])
    return record if record[stamp] is not None else None


def month_of(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m")


def ace_reference(lake_root: str) -> dict[tuple[str, str], dict[str, int]]:
    """(client_id, 'YYYY-MM') → ace_units, notifications_attempted, notifications_delivered."""
    attempts: dict[str, tuple] = {}
    for folder in sorted(glob.glob(os.path.join(lake_root, "raw/notifications/attempted/dt=*"))):
        landing = folder.rsplit("dt=", 1)[1]
        for line in read_lines(folder):
            r = valid_record(
                line,
                [
                    "notification_id",
                    "client_id",
                    "customer_id",
                    "experience_id",
                    "channel",
                    "attempted_at",
                ],
                ["destination"],
                {"channel": CHANNELS},
                "attempted_at",
            )
            if r is None:
                continue
            candidate = (landing, r["attempted_at"], r["client_id"], r["customer_id"])
            current = attempts.get(r["notification_id"])
            if current is None or candidate < current:
                attempts[r["notification_id"]] = candidate

    first_delivered: dict[str, dt.datetime] = {}
    for folder in sorted(glob.glob(os.path.join(lake_root, "raw/notifications/delivered/dt=*"))):
        for line in read_lines(folder):
            r = valid_record(
                line,
                ["notification_id", "status", "reported_at"],
                ["provider"],
                {"status": STATUSES},
                "reported_at",
            )
            if r is None or r["status"] != "delivered":
                continue
            nid = r["notification_id"]
            if nid not in first_delivered or r["reported_at"] < first_delivered[nid]:
                first_delivered[nid] = r["reported_at"]

    latest_customer: dict[str, tuple[dt.datetime, bool]] = {}
    for path in sorted(glob.glob(os.path.join(lake_root, "incoming/customers/*.csv"))):
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                updated = parse_ts(row["updated_at"])
                if (
                    row["customer_id"] not in latest_customer
                    or updated >= latest_customer[row["customer_id"]][0]
                ):
                    latest_customer[row["customer_id"]] = (updated, row["is_test"] == "true")

    result: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"ace_units": 0, "notifications_attempted": 0, "notifications_delivered": 0}
    )
    qualifying: dict[tuple[str, str], set[str]] = defaultdict(set)
    for nid, (_, attempted_at, client, customer) in attempts.items():
        delivered_at = first_delivered.get(nid)
        if delivered_at is not None and delivered_at < attempted_at:
            delivered_at = attempted_at
        key = (client, month_of(delivered_at or attempted_at))
        result[key]["notifications_attempted"] += 1
        if delivered_at is not None:
            result[key]["notifications_delivered"] += 1
            is_test = latest_customer.get(customer, (None, False))[1]
            if not is_test:
                qualifying[key].add(customer)
    for key, customers in qualifying.items():
        result[key]["ace_units"] = len(customers)
    return dict(result)
