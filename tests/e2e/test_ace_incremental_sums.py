"""The month-to-date sums (int_customer_experience_months) kept up to date from the fold's changes
agree, after every daily run, with sums computed in plain Python from the landed rows: earlier
receipts that move a delivery (within a group, across months), orphans that get their attempt,
reruns, a run whose month sums failed, a rerun of an older day that changes a customer, and the
monthly rebuild. dbt runs the real models on DuckDB over hand-written lake partitions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from tests.e2e.in_process import project_args, run_dbt

pytestmark = pytest.mark.e2e

SELECTION = "+int_customer_experience_months"
DELTA = "adding the changes since fold"
RECOMPUTE = "summing the touched months again"

T = dt.datetime.fromisoformat


def attempt(nid, client, customer, experience, at):
    return {"notification_id": nid, "client_id": client, "customer_id": customer,
            "experience_id": experience, "channel": "sms", "destination_hash": None,
            "attempted_at": T(at)}  # fmt: skip


def receipt(nid, status, at):
    return {"notification_id": nid, "status": status, "reported_at": T(at), "provider": "p"}


class Lake:
    """Hand-written lake partitions, the days processed so far, and dbt runs over them."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[tuple[str, str], list[dict]] = defaultdict(list)  # (table, day) → rows
        self.processed: set[str] = set()

    def land(self, day: str, attempts=(), receipts=()) -> None:
        for table, rows in (
            ("notification_attempts", attempts),
            ("notification_receipts", receipts),
        ):
            if not rows:
                continue
            self.files[(table, day)] += rows
            folder = self.root / "lake" / table / f"dt={day}"
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / f"part-{len(list(folder.iterdir()))}.parquet"
            with duckdb.connect() as con:
                columns = list(rows[0])
                con.execute(
                    f"create table t as select * from (values {', '.join(['(' + ', '.join(['?'] * len(columns)) + ')'] * len(rows))}) as v({', '.join(columns)})",
                    [row[c] for row in rows for c in columns],
                )
                con.execute(f"copy t to '{part}' (format parquet)")

    def dbt(self, env: dict[str, str], select: str = SELECTION) -> str:
        """`dbt run` of the selection on this lake; what dbt logged."""
        artefacts = self.root / "_dbt"
        return run_dbt(
            ["run", "--select", select, "--target", "local",
             *project_args(artefacts / "target", artefacts / "logs")],
            {"LAKE_ROOT": str(self.root), "ANALYTICS_TARGET": "local", **env},
        )  # fmt: skip

    def daily(self, day: str, select: str = SELECTION) -> str:
        self.processed.add(day)
        return self.dbt({"ACE_LANDING_DATE": day}, select)

    def expected(self) -> dict[tuple, tuple]:
        """Sums per (client, month, customer, experience) over the processed days, in Python."""
        first: dict[str, tuple] = {}
        delivered: dict[str, dt.datetime] = {}
        for (table, day), rows in self.files.items():
            if day not in self.processed:
                continue
            for r in rows:
                nid = r["notification_id"]
                if table == "notification_attempts":
                    copy = (day, r["attempted_at"], r["client_id"], r["customer_id"],
                            r["experience_id"], r["channel"])  # fmt: skip
                    first[nid] = min(first.get(nid, copy), copy)
                elif r["status"] == "delivered":
                    delivered[nid] = min(delivered.get(nid, r["reported_at"]), r["reported_at"])
        sums: dict[tuple, list] = {}
        for nid, (_, attempted_at, client, customer, experience, _) in first.items():
            at = delivered.get(nid)
            at = max(at, attempted_at) if at is not None else None
            month = (at or attempted_at).date().replace(day=1)
            s = sums.setdefault((client, month, customer, experience), [0, 0, None, None])
            s[0] += 1
            if at is not None:
                s[1] += 1
                s[2] = at if s[2] is None else min(s[2], at)
                s[3] = at if s[3] is None else max(s[3], at)
        return {key: tuple(value) for key, value in sums.items()}

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.root / "analytics.duckdb"), read_only=True) as con:
            return con.execute(sql).fetchall()

    def actual(self) -> dict[tuple, tuple]:
        rows = self.query(
            "select client_id, billing_month, customer_id, experience_id,"
            " notifications_attempted, notifications_delivered, first_delivered_at,"
            " last_delivered_at from int_customer_experience_months"
        )
        return {tuple(r[:4]): tuple(r[4:]) for r in rows}


@pytest.fixture()
def lake(tmp_path) -> Lake:
    return Lake(tmp_path / "lake")


def test_month_sums_from_the_changes_agree_with_sums_from_the_notifications(lake):
    # Day 1: first build. A, B in one group (B delivered last), F failed.
    lake.land(
        "2026-01-30",
        [attempt("A", "c1", "u1", "e1", "2026-01-30 10:00:00"),
         attempt("B", "c1", "u1", "e1", "2026-01-30 11:00:00"),
         attempt("F", "c2", "u3", "e2", "2026-01-30 09:00:00")],
        [receipt("A", "delivered", "2026-01-30 10:05:00"),
         receipt("B", "delivered", "2026-01-30 12:00:00"),
         receipt("F", "failed", "2026-01-30 09:01:00")],
    )  # fmt: skip
    lake.daily("2026-01-30")
    assert lake.actual() == lake.expected()
    assert lake.actual()[("c1", dt.date(2026, 1, 1), "u1", "e1")] == (
        2, 2, T("2026-01-30 10:05:00"), T("2026-01-30 12:00:00"))  # fmt: skip

    # Day 2: B's earlier receipt takes out the group's last delivery (summed again), C is
    # delivered in February, F is delivered, O is an orphan receipt.
    lake.land(
        "2026-01-31",
        [attempt("C", "c1", "u2", "e1", "2026-01-31 23:00:00"),
         attempt("G", "c1", "u1", "e1", "2026-01-31 08:00:00")],
        [receipt("B", "delivered", "2026-01-30 11:30:00"),
         receipt("C", "delivered", "2026-02-01 00:30:00"),
         receipt("F", "delivered", "2026-01-30 09:30:00"),
         receipt("O", "delivered", "2026-01-31 10:00:00")],
    )  # fmt: skip
    assert DELTA in lake.daily("2026-01-31")
    assert lake.actual() == lake.expected()
    assert lake.actual()[("c1", dt.date(2026, 1, 1), "u1", "e1")] == (
        3, 2, T("2026-01-30 10:05:00"), T("2026-01-30 11:30:00"))  # fmt: skip
    assert ("c1", dt.date(2026, 2, 1), "u2", "e1") in lake.actual()

    # Day 3: C's earlier receipt moves it back to January (its February group is gone), O gets
    # its attempt, a later copy of A with another customer changes nothing.
    lake.land(
        "2026-02-01",
        [attempt("O", "c2", "u3", "e2", "2026-01-31 09:50:00"),
         attempt("A", "c9", "u9", "e9", "2026-01-30 10:00:00"),
         attempt("H", "c1", "u1", "e1", "2026-02-01 07:00:00")],
        [receipt("C", "delivered", "2026-01-31 23:30:00"),
         receipt("H", "delivered", "2026-02-01 07:01:00")],
    )  # fmt: skip
    assert DELTA in lake.daily("2026-02-01")
    assert lake.actual() == lake.expected()
    assert ("c1", dt.date(2026, 2, 1), "u2", "e1") not in lake.actual()
    assert lake.actual()[("c2", dt.date(2026, 1, 1), "u3", "e2")][:2] == (2, 2)

    # A rerun of day 2 changes nothing.
    before = lake.actual()
    assert DELTA in lake.daily("2026-01-31")
    assert lake.actual() == before

    # Day 4's fold runs but its month sums do not (a failed run); day 5 changes I again, so
    # the touched months are summed again from the notifications.
    lake.land(
        "2026-02-02",
        [attempt("I", "c1", "u1", "e1", "2026-02-02 10:00:00")],
        [receipt("H", "delivered", "2026-02-01 06:59:00")],
    )  # fmt: skip
    lake.daily("2026-02-02", select="+int_notification_states")
    lake.land(
        "2026-02-03",
        [attempt("J", "c3", "u5", "e3", "2026-02-03 00:00:00")],
        [receipt("I", "delivered", "2026-02-02 10:05:00")],
    )  # fmt: skip
    assert RECOMPUTE in lake.daily("2026-02-03")
    assert lake.actual() == lake.expected()

    # A late file for day 2 holds an earlier copy of J with another customer: the rerun moves J.
    lake.land("2026-01-31", [attempt("J", "c3", "u6", "e3", "2026-02-03 00:00:00")])
    assert RECOMPUTE in lake.daily("2026-01-31")
    assert lake.actual() == lake.expected()
    assert ("c3", dt.date(2026, 2, 1), "u6", "e3") in lake.actual()
    assert ("c3", dt.date(2026, 2, 1), "u5", "e3") not in lake.actual()

    # Back to adding the changes; the monthly rebuild keeps the mark of what was absorbed.
    lake.land(
        "2026-02-04",
        [attempt("K", "c1", "u1", "e1", "2026-02-04 10:00:00")],
        [receipt("K", "delivered", "2026-02-04 10:01:00"),
         receipt("I", "delivered", "2026-02-02 10:01:00")],
    )  # fmt: skip
    assert DELTA in lake.daily("2026-02-04")
    assert lake.actual() == lake.expected()
    lake.dbt({"ACE_BILLING_MONTH": "2026-02"})
    assert lake.actual() == lake.expected()
    lake.land(
        "2026-02-05",
        [attempt("L", "c2", "u3", "e2", "2026-02-05 10:00:00")],
        [receipt("K", "delivered", "2026-02-04 10:00:30")],
    )  # fmt: skip
    assert DELTA in lake.daily("2026-02-05")
    assert lake.actual() == lake.expected()
    assert lake.actual()[("c1", dt.date(2026, 2, 1), "u1", "e1")] == (
        3, 3, T("2026-02-01 07:00:00"), T("2026-02-04 10:00:30"))  # fmt: skip


TRACKING = ["fold_seq", "prior_fold_seq", "prior_billing_month", "prior_delivered_at",
            "prior_group_changed"]  # fmt: skip


def columns(lake: Lake, table: str) -> list[str]:
    return [row[0] for row in lake.query(f"describe {table}")]


# Three landing days around an upgrade: A and B attempted, A delivered; B delivered and C new;
# D new, and earlier receipts for A (same group) and C.
UPGRADE_DAYS = {
    1: ("2026-01-30",
        [attempt("A", "c1", "u1", "e1", "2026-01-30 10:00:00"),
         attempt("B", "c1", "u1", "e1", "2026-01-30 11:00:00")],
        [receipt("A", "delivered", "2026-01-30 10:05:00")]),
    2: ("2026-01-31",
        [attempt("C", "c1", "u2", "e1", "2026-01-31 08:00:00")],
        [receipt("B", "delivered", "2026-01-31 09:00:00")]),
    3: ("2026-02-01",
        [attempt("D", "c1", "u1", "e1", "2026-02-01 10:00:00")],
        [receipt("A", "delivered", "2026-01-30 10:01:00"),
         receipt("C", "delivered", "2026-01-31 08:30:00")]),
}  # fmt: skip


def land_upgrade_day(lake: Lake, number: int) -> None:
    day, attempts, receipts = UPGRADE_DAYS[number]
    lake.land(day, attempts, receipts)


def test_tables_from_before_the_change_tracking_get_it_and_stay_right(lake):
    land_upgrade_day(lake, 1)
    lake.daily("2026-01-30")
    # The tables as they were before the tracking columns existed.
    with duckdb.connect(str(lake.root / "analytics.duckdb")) as con:
        for column in TRACKING:
            con.execute(f"alter table int_notification_states drop column {column}")
        con.execute("alter table int_customer_experience_months drop column absorbed_fold_seq")

    # B is delivered, C is new: the first run after the upgrade sums the months again and
    # adds the columns; the rows it replaced are gone (one row per notification).
    land_upgrade_day(lake, 2)
    assert RECOMPUTE in lake.daily("2026-01-31")
    assert lake.actual() == lake.expected()
    assert set(TRACKING) <= set(columns(lake, "int_notification_states"))
    assert "absorbed_fold_seq" in columns(lake, "int_customer_experience_months")
    assert "stored_rowid" not in columns(lake, "int_notification_states")
    ids = lake.query("select notification_id from int_notification_states")
    assert sorted(ids) == [("A",), ("B",), ("C",)]

    # From then on the sums follow the changes again; A's row from before the upgrade (no
    # fold_seq) changes too.
    land_upgrade_day(lake, 3)
    assert DELTA in lake.daily("2026-02-01")
    assert lake.actual() == lake.expected()
    assert lake.actual()[("c1", dt.date(2026, 1, 1), "u1", "e1")] == (
        2, 2, T("2026-01-30 10:01:00"), T("2026-01-31 09:00:00"))  # fmt: skip


HASH = "notification_id_hash"


def stored_hashes(lake: Lake) -> list[tuple]:
    """(id, the stored hash, DuckDB's hash of the id now) per row of the fold."""
    return lake.query(
        f"select notification_id, {HASH}, hash(notification_id) from int_notification_states"
        " order by notification_id"
    )


def test_missing_or_stale_key_hashes_are_computed_again_before_the_lookup(lake):
    """The daily lookup probes the fold's stored key hashes. A table from before the column, or
    hashes a DuckDB release computes differently (stood in for by hashes off by one), would make
    it miss stored rows and fold a notification twice; they are computed again first."""
    land_upgrade_day(lake, 1)
    lake.daily("2026-01-30")
    assert [(nid, stored == now) for nid, stored, now in stored_hashes(lake)] == [
        ("A", True), ("B", True)]  # fmt: skip

    # The table as it was before the column existed: the run adds and fills it.
    with duckdb.connect(str(lake.root / "analytics.duckdb")) as con:
        con.execute(f"alter table int_notification_states drop column {HASH}")
    land_upgrade_day(lake, 2)
    lake.daily("2026-01-31")
    assert [(nid, stored == now) for nid, stored, now in stored_hashes(lake)] == [
        ("A", True), ("B", True), ("C", True)]  # fmt: skip
    assert lake.actual() == lake.expected()

    # Stale hashes: the next run computes them again, then finds A's and C's stored rows.
    with duckdb.connect(str(lake.root / "analytics.duckdb")) as con:
        con.execute(f"update int_notification_states set {HASH} = {HASH} + 1")
    land_upgrade_day(lake, 3)
    lake.daily("2026-02-01")
    compiled = next(
        (lake.root / "_dbt" / "target" / "compiled").rglob("int_notification_states.sql")
    )
    assert "hash_matches" in compiled.read_text()  # the lookup went through the hashes
    assert [(nid, stored == now) for nid, stored, now in stored_hashes(lake)] == [
        ("A", True), ("B", True), ("C", True), ("D", True)]  # fmt: skip
    assert lake.actual() == lake.expected()
    assert lake.actual()[("c1", dt.date(2026, 1, 1), "u1", "e1")] == (
        2, 2, T("2026-01-30 10:01:00"), T("2026-01-31 09:00:00"))  # fmt: skip
