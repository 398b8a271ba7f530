"""End to end through the CLI: generate → load → daily backfill → monthly export, checked against
an independent computation, for idempotent reruns, and for reconciled row counts."""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.e2e.in_process import run_cli
from tests.e2e.reference_ace import ace_reference
from tests.lake_schema import columns_on_disk

pytestmark = pytest.mark.e2e

ANALYTICS = str(Path(sys.executable).with_name("analytics"))
DBT = str(Path(sys.executable).with_name("dbt"))
REPO = Path(__file__).resolve().parents[2]
START, END = "2026-01-29", "2026-02-01"  # crosses a month boundary, with late data both ways


def cli(lake_root: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAKE_ROOT": lake_root}
    done = subprocess.run([ANALYTICS, *args], env=env, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"analytics {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def built_lake(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("e2e") / "lake")
    cli(
        root,
        "generate",
        "--start",
        START,
        "--days",
        "4",
        "--scale",
        "400",
        "--anomaly-rate",
        "0.05",
    )
    run_cli(root, "load", f"{root}/incoming/customers/*.csv")
    run_cli(root, "backfill", "ace_daily", "--from", START, "--to", END)
    run_cli(root, "run", "ace_monthly", "--month", "2026-01")
    # The usage and social models too, so that every model's unit tests have their inputs built.
    for path in sorted(glob.glob(f"{root}/raw/usage_events/*/events.jsonl")):
        with open(path, "rb") as handle:
            env = {**os.environ, "LAKE_ROOT": root}
            subprocess.run([ANALYTICS, "ingest", "events"], stdin=handle, env=env, check=True)
    run_cli(root, "run", "usage_daily", "--date", END)
    run_cli(root, "run", "social_daily", "--date", START)
    return root


def dbt(root: str, *args: str) -> subprocess.CompletedProcess:
    """dbt itself on a lake, as a user runs it by hand: no run parameter in the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACE_")}
    env.update(
        LAKE_ROOT=root, DBT_TARGET_PATH=f"{root}/_dbt/target", DBT_LOG_PATH=f"{root}/_dbt/logs"
    )
    command = [DBT, *args, "--project-dir", "dbt_project", "--profiles-dir", "dbt_project"]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def query(root: str, sql: str) -> list[tuple]:
    with duckdb.connect(os.path.join(root, "analytics.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_ace_numbers_agree_with_independent_computation(built_lake):
    expected = ace_reference(built_lake)
    rows = query(
        built_lake,
        "select client_id, strftime(billing_month, '%Y-%m'), ace_units, "
        "notifications_attempted, notifications_delivered from main.ace_unit_agg",
    )
    actual = {
        (c, m): {"ace_units": a, "notifications_attempted": n, "notifications_delivered": d}
        for c, m, a, n, d in rows
    }
    assert actual == expected
    assert {m for _, m in actual} == {"2026-01", "2026-02"}
    assert sum(v["ace_units"] for v in expected.values()) > 100


def test_finance_export_for_january_matches_reference(built_lake):
    path = f"{built_lake}/exports/finance/ace_unit_monthly_output/month=2026-01/ace_unit_monthly_output.csv"
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["client_id", "billing_month", "ace_units"]
    exported = {line.split(",")[0]: int(line.split(",")[2]) for line in lines[1:]}
    expected = {
        c: v["ace_units"] for (c, m), v in ace_reference(built_lake).items() if m == "2026-01"
    }
    assert exported == expected
    outcome = (
        f"{built_lake}/exports/finance/ace_unit_monthly_outcome_experience_output/month=2026-01"
    )
    assert os.path.getsize(f"{outcome}/ace_unit_monthly_outcome_experience_output.csv") > 100


def test_every_raw_line_is_accepted_or_quarantined(built_lake):
    history = [
        json.loads(x) for x in Path(built_lake, "_runs/history.jsonl").read_text().splitlines()
    ]
    for day in ("2026-01-29", "2026-01-30", "2026-01-31", "2026-02-01"):
        record = next(
            r
            for r in history
            if r["task"] == "notification_attempted_daily"
            and r["params"]["date"] == day
            and r["status"] == "succeeded"
        )
        raw_lines = 0
        for path in glob.glob(f"{built_lake}/raw/notifications/attempted/dt={day}/*.jsonl.gz"):
            with gzip.open(path, "rt") as f:
                raw_lines += len(f.read().splitlines())
        assert record["rows_in"] == raw_lines == record["rows_out"] + record["quarantined"]
        assert record["quarantined"] > 0


def raw_destinations(root: str) -> set[str]:
    """Every `destination` (phone or e-mail, PII) in the raw attempts, read independently."""
    found = set()
    for path in glob.glob(f"{root}/raw/notifications/attempted/*/*"):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("destination"), str):
                    found.add(record["destination"])
    return found


def text_values(con, tables: list[tuple[str, str]]) -> set[str]:
    """Every text value of the given (relation, label) pairs."""
    values: set[str] = set()
    for relation, _ in tables:
        columns = con.execute(f"describe select * from {relation}").fetchall()
        for name, kind, *_ in columns:
            if kind == "VARCHAR":
                rows = con.execute(f'select distinct "{name}" from {relation}').fetchall()
                values.update(v for (v,) in rows if v is not None)
    return values


PII_LIKE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\+\d{7,15}")


def test_destination_never_appears_in_clear_in_the_lake_exports_databases_or_logs(built_lake):
    destinations = raw_destinations(built_lake)
    assert len(destinations) > 100
    files = glob.glob(f"{built_lake}/lake/**/*.parquet", recursive=True)
    columns = {
        c
        for f in files
        for (c,) in duckdb.sql(f"select name from parquet_schema('{f}')").fetchall()
    }
    assert "destination" not in columns and "destination_hash" in columns

    con = duckdb.connect()
    lake = [
        (f"read_parquet({files!r}, hive_partitioning = true, union_by_name = true)", table)
        for table, files in lake_tables(built_lake, "lake").items()
    ]
    assert text_values(con, lake).isdisjoint(destinations)
    for database in ("analytics.duckdb", "warehouse.duckdb"):
        with duckdb.connect(os.path.join(built_lake, database), read_only=True) as db:
            tables = db.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
            assert text_values(db, [(f"main.{t}", t) for (t,) in tables]).isdisjoint(destinations)
    # Text outputs and every log: exports, run logs, dbt's logs and compiled SQL.
    checked = 0
    for folder in ("exports", "_runs", "_dbt", "outbox"):
        for path in glob.glob(f"{built_lake}/{folder}/**/*", recursive=True):
            if os.path.isfile(path) and not path.endswith((".parquet", ".duckdb")):
                text = Path(path).read_text(encoding="utf-8", errors="replace")
                assert set(PII_LIKE.findall(text)).isdisjoint(destinations), path
                checked += 1
    assert checked > 10


def lake_tables(root: str, zone: str) -> dict[str, list[str]]:
    """Every table of a zone (lake/ or quarantine/) and its Parquet files (hidden folders of a
    writer in progress excluded, as readers exclude them)."""
    tables: dict[str, list[str]] = {}
    for table in sorted(os.listdir(os.path.join(root, zone))):
        files = [
            p
            for p in glob.glob(os.path.join(root, zone, table, "**", "*.parquet"), recursive=True)
            if "/." not in p.removeprefix(root)
        ]
        if files:
            tables[f"{zone}/{table}"] = sorted(files)
    return tables


def snapshot(root: str) -> dict[str, str]:
    """A digest of every table's full, ordered content (dbt models, the warehouse, the lake, the
    quarantine) and every export file's bytes."""
    digests = {}
    for database in ("analytics.duckdb", "warehouse.duckdb"):
        with duckdb.connect(os.path.join(root, database), read_only=True) as con:
            for (table,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' and table_name not in ('lake_partitions')"
            ).fetchall():
                rows = con.execute(f"select * from main.{table} order by all").fetchall()
                digests[f"{database}/{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    for zone in ("lake", "quarantine"):
        for table, files in lake_tables(root, zone).items():
            rows = (
                duckdb.connect()
                .execute(
                    "select * from read_parquet($files, hive_partitioning = true, union_by_name = true)"
                    " order by all",
                    {"files": files},
                )
                .fetchall()
            )
            digests[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    for path in sorted(glob.glob(f"{root}/exports/**/*.*", recursive=True)):
        digests[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return digests


WORKFLOW_PAYLOAD = json.dumps({"startDate": START, "endDate": END})
# Every pipeline and workflow, with the parameters it is rerun with (DESIGN §9: a rerun for the
# same parameters gives identical outputs). The first five already ran in the fixture.
RERUNS = {
    "ace_daily": ["run", "ace_daily", "--date", "2026-01-30"],
    "ace_monthly": ["run", "ace_monthly", "--month", "2026-01"],
    "usage_daily": ["run", "usage_daily", "--date", END],
    "social_daily": ["run", "social_daily", "--date", START],
    "warehouse_load": [
        "run",
        "warehouse_load",
        "--uri",
        f"{{root}}/incoming/customers/customers_{START}.csv",
    ],
    "listings_weekly": ["run", "listings_weekly", "--date", START],
    "usage_monthly_report": ["workflow", "usage_monthly_report", "--payload", WORKFLOW_PAYLOAD],
}
ALREADY_RUN = {"ace_daily", "ace_monthly", "usage_daily", "social_daily", "warehouse_load"}


@pytest.mark.parametrize("name", list(RERUNS))
def test_rerunning_a_pipeline_with_the_same_parameters_changes_nothing(built_lake, name):
    args = [a.replace("{root}", built_lake) for a in RERUNS[name]]
    if name not in ALREADY_RUN:
        run_cli(built_lake, *args)
    before = snapshot(built_lake)
    run_cli(built_lake, *args)
    after = snapshot(built_lake)
    assert after == before, sorted(
        k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
    )


def test_dbt_unit_tests_pass(built_lake):
    done = dbt(built_lake, "test", "--select", "test_type:unit")
    assert done.returncode == 0, done.stdout[-3000:]
    # One per §5.1 rule, the customer fold (daily and full), the month sums' delta path (2) and
    # choice of months (2), 3 for usage, 1 for social (the models' YAML).
    assert "PASS=21 " in done.stdout


def test_an_incremental_fold_without_its_landing_day_is_refused(built_lake):
    """dbt on the built lake (the states table exists) without ACE_LANDING_DATE: a compile error
    naming the variable, not a run that folds nothing."""
    done = dbt(built_lake, "run", "--select", "int_notification_states")
    assert done.returncode != 0
    assert "set ACE_LANDING_DATE=YYYY-MM-DD" in done.stdout


def test_a_daily_build_of_a_day_that_never_landed_fails_before_building(built_lake):
    """The build checks its landing day in every lake source it folds: a missing day is a
    failure naming what is missing and what to run, not an empty fold."""
    before = query(built_lake, "select count(*), max(fold_seq) from int_notification_states")
    done = cli(built_lake, "run", "ace_daily", "--date", "2026-02-09", "--task", "dbt_build_ace",
               check=False)  # fmt: skip
    assert done.returncode == 1
    said = " ".join((done.stdout + done.stderr).split())  # the console wraps long lines
    for missing, task in (
        ("notification attempts", "notification_attempted_daily"),
        ("delivery receipts", "notification_delivered_daily"),
        ("experiences snapshot", "outcome_experience_lookup_daily"),
        ("dim_customer snapshot", "dim_customer_daily"),
    ):
        assert f"No {missing} landed on the run's day" in said, missing
        assert f"run task {task} for that day first" in said
    assert "Traceback" not in done.stdout + done.stderr
    assert (
        query(built_lake, "select count(*), max(fold_seq) from int_notification_states") == before
    )


def test_summary_prints_units_and_quarantine(built_lake):
    done = cli(built_lake, "summary")
    assert "ACE units per client and billing month" in done.stdout
    assert "Rows quarantined by reason" in done.stdout and "malformed_json" in done.stdout
    history = cli(built_lake, "history", "--limit", "200").stdout
    assert "notification_attempted_daily" in history and "export_finance" in history


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "ace_daily", "--date", "2026-02-30"], "not a valid date"),
        (["run", "ace_monthly", "--month", "2026-13"], "not a valid month"),
        (["run", "nope", "--date", "2026-01-01"], "unknown pipeline 'nope'"),
        (["run", "ace_daily"], "ace_daily needs --date"),
        (
            ["backfill", "ace_daily", "--from", "2026-01-05", "--to", "2026-01-01"],
            "--to is before --from",
        ),
        (["load", "/nonexistent/incoming/customers/x.csv"], "no such file"),
        (["run", "ace_daily", "--date", "1999-01-01"], "no raw data at"),
    ],
)
def test_user_mistakes_get_one_line_errors(tmp_path, args, message):
    done = cli(str(tmp_path / "lake"), *args, check=False)
    assert done.returncode != 0
    assert message in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_glue_tables_declare_the_columns_the_jobs_write(built_lake):
    """Athena reads the lake through infra/glue_tables.py: its columns must be what is on disk."""
    from infra.glue_tables import CURATED

    checked: set[str] = set()
    for table in CURATED:
        on_disk = columns_on_disk(built_lake, table.name)
        if on_disk is None:
            continue  # listings are written by the weekly EMR pipeline (tests/unit/test_listings.py)
        assert on_disk == list(table.columns), table.name
        checked.add(table.name)
    # The ACE tables always; the listings ones too once the listings rerun test has written them.
    assert {
        "notification_attempts",
        "notification_receipts",
        "experiences",
        "dim_customer",
    } <= checked


# The ACE tables and the columns that record how a row was folded (which day's run wrote it, the
# change tracking of the month sums) rather than what it says: a full build has no folds to record.
ACE_TABLES = {
    "int_notification_states": {
        "fold_seq",
        "prior_fold_seq",
        "prior_billing_month",
        "prior_delivered_at",
        "prior_group_changed",
        "folded_landing_date",
        "latest_billing_month",
    },
    "int_customers_latest": set(),
    "int_customer_experience_months": {"absorbed_fold_seq"},
    "ace_unit_audit": set(),
    "ace_unit_agg": set(),
    "ace_unit_monthly_output": set(),
    "ace_unit_monthly_outcome_experience_output": set(),
}


def ace_tables(root: str, leave_out_fold_records: bool) -> dict[str, list[tuple]]:
    """Every row, every column (or every content column), in order, of each ACE table."""
    tables = {}
    with duckdb.connect(os.path.join(root, "analytics.duckdb"), read_only=True) as con:
        for table, fold_records in ACE_TABLES.items():
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_name = ? "
                    "order by ordinal_position",
                    [table],
                ).fetchall()
                if not (leave_out_fold_records and name in fold_records)
            ]
            tables[table] = con.execute(
                f"select {', '.join(columns)} from main.{table} order by all"
            ).fetchall()
    return tables


def full_rebuild(root: str) -> None:
    done = dbt(root, "run", "--full-refresh", "--select", "+marts.ace", "+marts.reports")
    assert done.returncode == 0, done.stdout[-3000:]


def test_full_rebuilds_are_identical_and_equal_the_daily_folds(built_lake, tmp_path):
    """DESIGN §5.1: two --full-refresh builds of the same lake give the same tables, row for
    row and every column (no run time anywhere); and the four daily folds and the monthly
    rebuild the fixture ran hold the same content as one full build of the same lake."""
    folded = ace_tables(built_lake, leave_out_fold_records=True)
    copy = str(tmp_path / "lake")
    shutil.copytree(built_lake, copy, ignore=shutil.ignore_patterns("_runs"))
    full_rebuild(copy)
    first = ace_tables(copy, leave_out_fold_records=False)
    full_rebuild(copy)
    assert ace_tables(copy, leave_out_fold_records=False) == first
    rebuilt = ace_tables(copy, leave_out_fold_records=True)
    for table, rows in folded.items():
        assert rows, table
        assert rebuilt[table] == rows, table


def test_every_mart_column_is_described(built_lake):
    """Every column of every built mart (as the database has it, not as the YAML lists it) has a
    description in the project (dbt docs)."""
    manifest = json.loads(Path(built_lake, "_dbt/target/manifest.json").read_text())
    marts = {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["original_file_path"].startswith("models/marts/")
    }
    assert len(marts) == 11
    with duckdb.connect(os.path.join(built_lake, "analytics.duckdb"), read_only=True) as con:
        built = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'main'"
        ).fetchall()
    undescribed = sorted(
        (table, column)
        for table, column in built
        if table in marts
        and not (marts[table]["columns"].get(column) or {}).get("description", "").strip()
    )
    assert {table for table, _ in built} >= set(marts)
    assert undescribed == []


def scoped_digests(root: str) -> dict[str, tuple[str, float]]:
    """(digest, newest write time) of each unit a partial run may or may not touch: every lake
    and quarantine partition, every month of a model with a billing_month (else the whole
    model), every export file."""
    units: dict[str, tuple[str, float]] = {}
    for zone in ("lake", "quarantine"):
        for table, files in lake_tables(root, zone).items():
            by_folder: dict[str, list[str]] = {}
            for path in files:
                by_folder.setdefault(os.path.dirname(path).split(f"/{table}/", 1)[1], []).append(
                    path
                )
            for folder, parts in by_folder.items():
                with duckdb.connect() as con:  # the rows, in order: file layout may vary
                    rows = con.execute(
                        "select * from read_parquet($files, union_by_name = true) order by all",
                        {"files": parts},
                    ).fetchall()
                mtime = max(os.path.getmtime(p) for p in parts)
                units[f"{table}/{folder}"] = (
                    hashlib.sha256(repr(rows).encode()).hexdigest(),
                    mtime,
                )
    with duckdb.connect(os.path.join(root, "analytics.duckdb"), read_only=True) as con:
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' "
            "and table_type = 'BASE TABLE'"
        ).fetchall():
            columns = {c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_name = ?", [table]
            ).fetchall()}  # fmt: skip
            cursor = con.execute(f"select * from main.{table} order by all")
            names = [d[0] for d in cursor.description]
            groups: dict[str, list[tuple]] = {}
            for row in cursor.fetchall():
                month = row[names.index("billing_month")] if "billing_month" in columns else None
                groups.setdefault(f"{table}/{month}" if month else table, []).append(row)
            for unit, rows in groups.items():
                units[unit] = (hashlib.sha256(repr(rows).encode()).hexdigest(), 0)
    for path in sorted(glob.glob(f"{root}/exports/**/*.*", recursive=True)):
        units[os.path.relpath(path, root)] = (
            hashlib.sha256(Path(path).read_bytes()).hexdigest(),
            os.path.getmtime(path),
        )
    return units


# (the partial run, which units are its scope, which units it must have rewritten)
PARTIAL_RUNS = {
    "one task": (
        ["run", "ace_daily", "--date", "2026-01-30", "--task", "notification_delivered_daily"],
        re.compile(r"notification_receipts/dt=2026-01-30$"),
        {"lake/notification_receipts/dt=2026-01-30"},
    ),
    "one day of a backfill": (
        ["run", "ace_daily", "--date", "2026-01-30"],
        # Its partitions; the models it folds into (their touched months, the per-row tables).
        re.compile(r"dt=2026-01-30|^int_|^ace_|^v_|^lake_partitions$"),
        {"lake/notification_attempts/dt=2026-01-30", "lake/dim_customer/dt=2026-01-30"},
    ),
    "one month": (
        ["run", "ace_monthly", "--month", "2026-01"],
        re.compile(r"/2026-01-01$|^int_notification_states$|^int_customers_latest$|month=2026-01"),
        {"exports/finance/ace_unit_monthly_output/month=2026-01/ace_unit_monthly_output.csv"},
    ),
}


@pytest.mark.parametrize("kind", list(PARTIAL_RUNS))
def test_a_partial_run_changes_only_what_is_in_its_scope(built_lake, kind):
    """DESIGN §9: outside its scope a partial run leaves every partition, month and file as it
    was (and present); inside, it did write (newer files), giving the same content again."""
    args, scope, rewritten = PARTIAL_RUNS[kind]
    before = scoped_digests(built_lake)
    time.sleep(0.01)
    run_cli(built_lake, *args)
    after = scoped_digests(built_lake)
    outside = {unit for unit in before if not scope.search(unit)}
    assert outside and outside <= set(after)
    assert {u: after[u][0] for u in outside} == {u: before[u][0] for u in outside}
    assert {u: after[u][1] for u in outside} == {u: before[u][1] for u in outside}
    for unit in rewritten:
        assert after[unit][1] > before[unit][1], f"{kind} did not write {unit}"
    # Inside the scope the same inputs give the same content (DESIGN §9: reruns are identical).
    assert {u: v[0] for u, v in after.items()} == {u: v[0] for u, v in before.items()}
