"""The readable end-of-demo summary: ACE units per client and month, and what was quarantined."""

from __future__ import annotations

import glob
import os

import duckdb
from rich.console import Console
from rich.table import Table

from orchestration.core.errors import InputError
from orchestration.core.lake import Lake


def ace_units(lake: Lake) -> list[tuple]:
    with duckdb.connect(lake.analytics_db, read_only=True) as con:
        return con.execute(
            "select client_id, strftime(billing_month, '%Y-%m'), ace_units, customers_delivered, "
            "notifications_delivered, test_customers_excluded "
            "from main.ace_unit_monthly_output order by billing_month, client_id"
        ).fetchall()


def orphan_receipts(lake: Lake) -> int:
    with duckdb.connect(lake.analytics_db, read_only=True) as con:
        return con.execute("select count(*) from main.ace_orphan_receipts").fetchall()[0][0]


def quarantine_by_reason(lake: Lake) -> list[tuple]:
    pattern = os.path.join(lake.quarantine(""), "*", "dt=*", "*.parquet")
    if not glob.glob(pattern):
        return []
    with duckdb.connect() as con:
        return con.execute(
            "select regexp_extract(filename, '/quarantine/([^/]+)/', 1) as dataset, "
            "regexp_replace(reason, ':.*', '') || coalesce(':' || nullif(regexp_extract(reason, ':(.*)', 1), ''), '') as reason, "
            "count(*) from read_parquet($pattern, filename = true, union_by_name = true) "
            "group by all order by 1, 2",
            {"pattern": pattern},
        ).fetchall()


def print_summary(lake: Lake, console: Console) -> None:
    if not os.path.exists(lake.analytics_db):
        raise InputError(f"no analytics database at {lake.analytics_db}: run a pipeline first")
    units = Table(title="ACE units per client and billing month")
    units.add_column("client")
    units.add_column("month")
    for column in ("ACE units", "customers delivered", "notifications delivered", "test excluded"):
        units.add_column(column, justify="right")
    for row in ace_units(lake):
        units.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    console.print(units)

    rejected = Table(title="Rows quarantined by reason")
    for column in ("dataset", "reason", "rows"):
        rejected.add_column(column)
    total = 0
    for dataset, reason, count in quarantine_by_reason(lake):
        rejected.add_row(dataset, reason, f"{count:,}")
        total += count
    rejected.add_row("[bold]total", "", f"[bold]{total:,}")
    console.print(rejected)
    console.print(
        f"Orphan receipts (no matching attempt, reported in ace_orphan_receipts): "
        f"{orphan_receipts(lake):,}"
    )
