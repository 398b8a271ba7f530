"""The dbt models are Athena (Trino) and Redshift SQL, not only DuckDB SQL (DESIGN §7).

`dbt parse` for every target; `dbt compile --target athena` against a moto server; the
Redshift-dialect SQL compiled through dbt-postgres on PostgreSQL (dbt-redshift cannot connect to
PostgreSQL; both adapters share the macros the models use, and our dispatched macros have a
redshift__ variant where the engines differ). Each compiled model, in its first-build and in its
daily (incremental) form, must parse with sqlglot in the engine's dialect, and every function
sqlglot does not know must be on the list of functions that engine has: sqlglot would otherwise
accept a DuckDB-only function silently."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
import sqlglot
from sqlglot import exp

from tests.e2e.in_process import project_args, run_dbt

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
LANDING_DATE = "2026-01-05"
INCREMENTAL = {
    "int_notification_states": "iceberg",
    "int_customers_latest": "iceberg",
    "int_customer_experience_months": "hive",
    "ace_unit_audit": "hive",
    "ace_unit_monthly_outcome_experience_output": "hive",
}
PARTITIONED_BY_MONTH = {m for m, kind in INCREMENTAL.items() if kind == "hive"}
# Functions these engines have that sqlglot parses as unknown (exp.Anonymous). Keep it short and
# checked against the engines' documentation; an unknown function not listed here fails.
KNOWN_FUNCTIONS: dict[str, set[str]] = {"athena": set(), "redshift": set()}
MODELS = 24  # ACE 15 + usage 5 + social 4


def _dbt(args: list[str], env: dict[str, str], target_path: Path) -> str:
    """`dbt <args>` on the project, in the test process (tests/e2e/in_process.py); what it
    logged."""
    return run_dbt([*args, *project_args(target_path)], {"LAKE_ROOT": str(target_path), **env})


def _compiled_models(target_path: Path) -> dict[str, str]:
    root = target_path / "compiled" / "analytics" / "models"
    return {
        p.stem: p.read_text()
        for p in root.rglob("*.sql")
        if not any(part.endswith(".yml") for part in p.parts)
    }


def _compiled_tests(target_path: Path) -> dict[str, str]:
    """The compiled data tests, singular and generic (those of the models' YAML included)."""
    root = target_path / "compiled" / "analytics"
    return {
        str(p.relative_to(root)): p.read_text()
        for p in root.rglob("*.sql")
        if p.is_relative_to(root / "tests") or any(part.endswith(".yml") for part in p.parts)
    }


def _check_dialect(models: dict[str, str], dialect: str) -> dict[str, set[str]]:
    """Parse every model; return its unknown function names (an unparseable model fails)."""
    assert len(models) == MODELS, sorted(models)
    unknown: dict[str, set[str]] = {}
    for name, sql in models.items():
        try:
            trees = sqlglot.parse(sql, read=dialect)
        except sqlglot.errors.ParseError as err:
            pytest.fail(f"{name} is not {dialect} SQL: {err}")
        functions = {a.name.lower() for t in trees if t for a in t.find_all(exp.Anonymous)}
        if functions - KNOWN_FUNCTIONS[dialect]:
            unknown[name] = functions - KNOWN_FUNCTIONS[dialect]
    return unknown


def redshift_unsupported(sql: str) -> set[str]:
    """PostgreSQL constructs Redshift does not implement (AWS's list of unsupported PostgreSQL
    features) that sqlglot's Redshift dialect parses anyway."""
    found: set[str] = set()
    for tree in sqlglot.parse(sql, read="postgres"):
        if tree is None:
            continue
        if tree.find(exp.NullSafeEQ, exp.NullSafeNEQ):
            found.add("IS [NOT] DISTINCT FROM")
        if any(d.args.get("on") for d in tree.find_all(exp.Distinct)):
            found.add("DISTINCT ON")
        if tree.find(exp.Filter):
            found.add("aggregate FILTER")
    return found


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("select * from a join b on a.x is distinct from b.x", "IS [NOT] DISTINCT FROM"),
        ("select a from t where a is not distinct from b", "IS [NOT] DISTINCT FROM"),
        ("select distinct on (id) id, v from t order by id, v", "DISTINCT ON"),
        ("select count(*) filter (where ok) from t", "aggregate FILTER"),
    ],
)
def test_the_redshift_check_finds_what_redshift_lacks(sql, construct):
    assert redshift_unsupported(sql) == {construct}
    assert redshift_unsupported("select distinct id, count(*) from t group by id") == set()


@pytest.mark.parametrize("target", ["local", "athena", "postgres", "redshift"])
def test_dbt_parse_succeeds_for_every_target(target, tmp_path):
    logged = _dbt(["parse", "--target", target], {}, tmp_path / "target")
    assert "Registered adapter" in logged


@pytest.fixture(scope="module")
def athena_env(moto_server) -> dict[str, str]:
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "ATHENA_STAGING_DIR": "s3://athena-results/",
        "ATHENA_SCHEMA": "analytics",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(
        Bucket="athena-results", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return env


def _create_glue_tables(env: dict[str, str]) -> None:
    """The incremental models as deployed tables, so dbt compiles their daily form."""
    glue = boto3.client(
        "glue",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    glue.create_database(DatabaseInput={"Name": "analytics"})
    for model, kind in INCREMENTAL.items():
        parameters = (
            {"table_type": "ICEBERG"} if kind == "iceberg" else {"classification": "parquet"}
        )
        glue.create_table(
            DatabaseName="analytics",
            TableInput={
                "Name": model,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": parameters,
                "StorageDescriptor": {
                    "Columns": [{"Name": "billing_month", "Type": "date"}],
                    "Location": f"s3://athena-results/tables/{model}/",
                },
            },
        )


def _final_columns(sql: str, dialect: str) -> list[str]:
    """The columns of the model's `final` CTE, in order."""
    tree = sqlglot.parse_one(sql, read=dialect)
    [final] = [cte for cte in tree.find_all(exp.CTE) if cte.alias == "final"]
    return [e.alias_or_name for e in final.this.selects]


def test_athena_compilation_is_trino_sql_in_first_build_and_daily_forms(athena_env, tmp_path):
    _dbt(["compile", "--target", "athena"], athena_env, tmp_path / "a")
    first = _compiled_models(tmp_path / "a")
    # A first build reads no stored rows.
    assert "previous as" not in first["int_notification_states"]
    _create_glue_tables(athena_env)
    daily_env = {**athena_env, "ACE_LANDING_DATE": LANDING_DATE}
    _dbt(["compile", "--target", "athena"], daily_env, tmp_path / "b")
    daily = _compiled_models(tmp_path / "b")
    # The daily form reads only the landing day and the stored rows it touches.
    assert "previous as" in daily["int_notification_states"]
    assert f"landing_date = cast('{LANDING_DATE}' as date)" in daily["int_notification_states"]
    assert (
        '"awsdatacatalog"."analytics"."int_notification_states"' in daily["int_notification_states"]
    )
    for models in (first, daily):
        assert _check_dialect(models, "athena") == {}
        # Athena writes a partitioned table from a select whose partition column comes last.
        for model in PARTITIONED_BY_MONTH:
            columns = _final_columns(models[model], "athena")
            assert columns[-1] == "billing_month" and columns.count("billing_month") == 1, columns


@pytest.fixture
def postgres_env(postgres_server):
    from urllib.parse import urlsplit

    import psycopg

    url = urlsplit(postgres_server)
    schema = f"portability_{uuid.uuid4().hex[:10]}"
    env = {
        "PGHOST": url.hostname or "localhost",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password or "",
        "PGDATABASE": url.path.lstrip("/"),
        "DBT_SCHEMA": schema,
    }
    yield env
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {schema} cascade")


def test_redshift_dialect_compilation_is_redshift_sql_in_first_build_and_daily_forms(
    postgres_env, postgres_server, tmp_path
):
    import psycopg

    _dbt(["compile", "--target", "postgres"], postgres_env, tmp_path / "a")
    first = _compiled_models(tmp_path / "a")
    schema = postgres_env["DBT_SCHEMA"]
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
        for model in INCREMENTAL:
            conn.execute(f"create table {schema}.{model} (billing_month date)")
    _dbt(
        ["compile", "--target", "postgres"],
        {**postgres_env, "ACE_LANDING_DATE": LANDING_DATE},
        tmp_path / "b",
    )
    daily = _compiled_models(tmp_path / "b")
    assert f"landing_date = cast('{LANDING_DATE}' as date)" in daily["int_notification_states"]
    for models in (first, daily):
        # PostgreSQL's MATERIALIZED CTE keyword is the one difference of our macros; Redshift
        # gets none (redshift__materialized_cte), so it is removed before the Redshift check.
        redshift = {n: s.replace(" as materialized (", " as (") for n, s in models.items()}
        assert _check_dialect(redshift, "redshift") == {}
        unsupported = {n: redshift_unsupported(s) for n, s in redshift.items()}
        assert {n: found for n, found in unsupported.items() if found} == {}
    # The data tests run on Redshift too.
    tests = _compiled_tests(tmp_path / "b")
    assert len(tests) > 40
    unsupported = {n: redshift_unsupported(s) for n, s in tests.items()}
    assert {n: found for n, found in unsupported.items() if found} == {}
