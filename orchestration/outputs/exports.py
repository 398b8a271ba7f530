"""Finance exports: the monthly ACE outputs as CSV files under exports/finance/<model>/month=M/."""

from __future__ import annotations

import os

import duckdb

from orchestration.core.lake import Lake

# Model → its grain, which is also the row order of the file (byte-identical reruns).
FINANCE_EXPORTS: dict[str, tuple[str, ...]] = {
    "ace_unit_monthly_output": ("client_id",),
    "ace_unit_monthly_outcome_experience_output": ("client_id", "outcome", "experience_id"),
}


def export_path(lake: Lake, model: str, month: str) -> str:
    return os.path.join(lake.exports("finance", model, f"month={month}"), f"{model}.csv")


def export_month(lake: Lake, month: str) -> dict[str, int]:
    """Write every Finance export of `month` (YYYY-MM) from the local analytics database."""
    rows_out = 0
    with duckdb.connect(lake.analytics_db, read_only=True) as con:
        for model, order in FINANCE_EXPORTS.items():
            path = export_path(lake, model, month)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".tmp"
            query = (
                f"select * from main.{model} "
                f"where billing_month = cast('{month}-01' as date) order by {', '.join(order)}"
            )
            con.execute(f"copy ({query}) to '{tmp}' (format csv, header true)")
            os.replace(tmp, path)
            rows_out += con.execute(f"select count(*) from ({query})").fetchall()[0][0]
    return {"rows_in": rows_out, "rows_out": rows_out, "quarantined": 0}
