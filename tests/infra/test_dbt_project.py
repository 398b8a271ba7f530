"""The dbt project's public interface and conventions, read from `dbt parse` and its files: the
contracts of the public marts, the exposures, freshness on every source, the Finance exports'
columns, one documented macro per file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from orchestration.outputs.exports import FINANCE_EXPORTS
from tests.e2e.in_process import project_args, run_dbt

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "dbt_project"
PUBLIC = {
    "ace_unit_agg",
    "ace_unit_audit",
    "ace_unit_monthly_output",
    "ace_unit_monthly_outcome_experience_output",
    "v_dim_customer",
}
ADAPTERS = ("default", "duckdb", "athena", "postgres", "redshift")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("parse")
    return parse(None, target, "--no-partial-parse")


def models(manifest: dict) -> dict[str, dict]:
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def test_the_public_marts_have_enforced_contracts(manifest):
    found = {n: m for n, m in models(manifest).items() if m["config"]["contract"]["enforced"]}
    assert set(found) == PUBLIC
    for name, model in found.items():
        assert model["access"] == "public", name
        assert model["columns"], name
        untyped = [c for c, column in model["columns"].items() if not column["data_type"]]
        assert untyped == [], name


def test_no_daily_data_test_reads_the_view_over_every_snapshot(manifest):
    """v_dim_customer re-ranks every customer snapshot ever replicated: a data test reading it
    costs the history, not the day, so it belongs to the monthly build (tag whole_history, which
    the daily build excludes)."""
    whole_history = {"model.analytics.v_dim_customer"}
    readers = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and whole_history & set(n["depends_on"]["nodes"])
    ]
    assert any(n["name"] == "assert_customers_latest_matches_v_dim_customer" for n in readers)
    assert [n["name"] for n in readers if "whole_history" not in n["config"]["tags"]] == []


def test_partitioned_public_marts_put_billing_month_last_everywhere(manifest):
    """Athena writes a Hive-partitioned table from a select whose partition column is last; the
    contract gives every engine that same order."""
    for name in ("ace_unit_audit", "ace_unit_monthly_outcome_experience_output"):
        assert list(models(manifest)[name]["columns"])[-1] == "billing_month", name


def test_the_finance_exports_select_the_contract_columns(manifest):
    for export in FINANCE_EXPORTS:
        contract = list(models(manifest)[export.model]["columns"])
        assert sorted(export.columns) == sorted(contract), export.model
        assert set(export.grain) <= set(contract) - {"billing_month"}


def test_exposures_name_an_owner_and_what_they_read(manifest):
    exposures = manifest["exposures"].values()
    assert len(exposures) >= 3
    read = set()
    for exposure in exposures:
        assert exposure["owner"]["name"] and exposure["owner"]["email"], exposure["name"]
        assert exposure["depends_on"]["nodes"], exposure["name"]
        read |= set(exposure["depends_on"]["nodes"])
    for node in (
        "model.analytics.ace_unit_monthly_output",
        "model.analytics.ace_unit_monthly_outcome_experience_output",
        "model.analytics.usage_views",
        "source.analytics.lake.social_event_stats",
        "source.analytics.lake.social_brand_stats",
    ):
        assert node in read, node


def test_every_source_declares_freshness(manifest):
    sources = manifest["sources"].values()
    assert len(sources) == 7
    for source in sources:
        assert source["loaded_at_field"], source["name"]
        freshness = source["freshness"] or {}
        assert (freshness.get("error_after") or {}).get("count"), source["name"]


def test_the_daily_ace_sources_check_their_landing_day(manifest):
    checked = {
        n["attached_node"] or n["depends_on"]["nodes"][0]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and (n.get("test_metadata") or {}).get("name") == "landing_day_present"
    }
    assert checked == {
        f"source.analytics.lake.{t}"
        for t in ("notification_attempts", "notification_receipts", "experiences", "dim_customer")
    }


MACRO = re.compile(r"{%-?\s*(?:macro|test)\s+(\w+)\s*\(")
VARIANT = re.compile(rf"^({'|'.join(ADAPTERS)})__(\w+)$")


def test_one_macro_per_file_named_after_it_and_documented():
    """Each macro file defines one macro named after the file (and, if it is dispatched, its
    engine variants `<adapter>__<name>`); each is described in _macros.yml (a generic test
    under its dbt name, test_<name>)."""
    documented = {
        m["name"]: (m.get("description") or "").strip()
        for m in yaml.safe_load((PROJECT / "macros" / "_macros.yml").read_text())["macros"]
    }
    files = [*(PROJECT / "macros").glob("*.sql"), *(PROJECT / "tests" / "generic").glob("*.sql")]
    assert len(files) >= 15
    for path in files:
        names = MACRO.findall(path.read_text(encoding="utf-8"))
        variants = [n for n in names if VARIANT.match(n)]
        assert [n for n in names if n not in variants] == [path.stem], path.name
        assert {VARIANT.match(v).group(2) for v in variants} <= {path.stem}, path.name
        dbt_name = f"test_{path.stem}" if path.parent.name == "generic" else path.stem
        assert documented.get(dbt_name), f"{dbt_name} has no description in _macros.yml"


def test_engine_differences_go_through_dispatch():
    """No model or macro branches on the engine's name: adapter.dispatch picks the variant."""
    sql = [
        *PROJECT.glob("models/**/*.sql"),
        *PROJECT.glob("macros/*.sql"),
        *PROJECT.glob("tests/**/*.sql"),
    ]
    branching = [p.name for p in sql if "target.type" in p.read_text(encoding="utf-8")]
    assert branching == []


def parse(target: str | None, tmp_path: Path, *options: str) -> dict:
    """The manifest of `dbt parse` (of the profile's default target unless `target`), run in
    the test process (tests/e2e/in_process.py)."""
    target_option = ["--target", target] if target else []
    run_dbt(
        ["parse", *target_option, *options, *project_args(tmp_path)], {"LAKE_ROOT": str(tmp_path)}
    )
    return json.loads((tmp_path / "manifest.json").read_text())


def test_the_iceberg_tables_are_partitioned_and_maintained_monthly_on_athena(tmp_path):
    config = models(parse("athena", tmp_path))["int_notification_states"]["config"]
    assert config["table_type"] == "iceberg" and config["incremental_strategy"] == "merge"
    assert config["partitioned_by"] == ["billing_month"]
    hooks = [hook["sql"] for hook in config["post-hook"]]
    assert any("optimize {{ this }} rewrite data using bin_pack" in hook for hook in hooks)
    assert any("vacuum {{ this }}" in hook for hook in hooks)
    # Only the monthly build (ACE_BILLING_MONTH) runs them: a daily build's cost follows the day.
    assert all("{% if run_param('ACE_BILLING_MONTH') %}" in hook for hook in hooks)


def test_no_maintenance_hooks_outside_athena(manifest):
    for name in ("int_notification_states", "int_customers_latest"):
        assert models(manifest)[name]["config"]["post-hook"] == [], name


def test_the_big_tables_have_dist_and_sort_keys_on_redshift(tmp_path):
    found = models(parse("redshift", tmp_path))
    for name, dist in (
        ("int_notification_states", "notification_id"),
        ("int_customer_experience_months", "customer_id"),
        ("int_customers_latest", "customer_id"),
        ("ace_unit_audit", "customer_id"),
    ):
        assert found[name]["config"]["dist"] == dist, name
        assert found[name]["config"]["sort"], name
