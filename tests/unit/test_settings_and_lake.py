from __future__ import annotations

import datetime as dt
import os

import pytest
from pydantic import ValidationError

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings


def test_settings_defaults_are_local(monkeypatch):
    for name in ("LAKE_ROOT", "ANALYTICS_TARGET", "PII_SALT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.lake_root, settings.target, settings.is_local) == ("./.lake", "local", True)


def test_settings_come_from_environment(monkeypatch):
    monkeypatch.setenv("LAKE_ROOT", "s3://bucket/prefix/")
    monkeypatch.setenv("ANALYTICS_TARGET", "athena")
    monkeypatch.setenv("PII_SALT", "s3cret")
    monkeypatch.setenv("ATHENA_STAGING_DIR", "s3://results/dbt/")
    monkeypatch.setenv("ATHENA_DATA_DIR", "s3://bucket/models/")
    settings = Settings()
    assert (settings.lake_root, settings.target, settings.is_local) == (
        "s3://bucket/prefix",
        "athena",
        False,
    )


def test_pii_salt_is_required_outside_local(monkeypatch):
    monkeypatch.delenv("PII_SALT", raising=False)
    monkeypatch.setenv("ANALYTICS_TARGET", "redshift")
    with pytest.raises(ValidationError, match="PII_SALT must be set"):
        Settings()
    monkeypatch.setenv("ANALYTICS_TARGET", "local")
    monkeypatch.setenv("LAKE_ROOT", "s3://lake/analytics")  # a production lake, any target
    with pytest.raises(ValidationError, match="PII_SALT must be set"):
        Settings()
    monkeypatch.setenv("PII_SALT", "a-real-secret")
    assert Settings().pii_salt == "a-real-secret"


def test_the_athena_target_needs_its_staging_and_data_locations(monkeypatch):
    """Without them dbt-athena would write to a default bucket: refused with the name to set."""
    monkeypatch.setenv("ANALYTICS_TARGET", "athena")
    monkeypatch.setenv("PII_SALT", "s3cret")
    monkeypatch.delenv("ATHENA_STAGING_DIR", raising=False)
    monkeypatch.setenv("ATHENA_DATA_DIR", "s3://lake/models/")
    with pytest.raises(ValidationError, match="needs ATHENA_STAGING_DIR"):
        Settings()
    monkeypatch.setenv("ATHENA_STAGING_DIR", "results/dbt/")  # not an S3 prefix
    with pytest.raises(ValidationError, match="needs ATHENA_STAGING_DIR"):
        Settings()
    monkeypatch.setenv("ATHENA_STAGING_DIR", "s3://results/dbt/")
    monkeypatch.delenv("ATHENA_DATA_DIR")
    with pytest.raises(ValidationError, match="needs ATHENA_DATA_DIR"):
        Settings()


def test_unknown_target_is_refused(monkeypatch):
    monkeypatch.setenv("ANALYTICS_TARGET", "oracle")
    with pytest.raises(ValidationError):
        Settings()


def test_lake_paths_local_and_s3(tmp_path):
    day = dt.date(2026, 1, 2)
    local = Lake(str(tmp_path))
    assert (
        local.raw("notifications/attempted", day)
        == f"{tmp_path}/raw/notifications/attempted/dt=2026-01-02"
    )
    assert (
        local.curated("notification_attempts", day)
        == f"{tmp_path}/lake/notification_attempts/dt=2026-01-02"
    )
    assert local.quarantine("notification_attempts", day) == (
        f"{tmp_path}/quarantine/notification_attempts/dt=2026-01-02"
    )
    s3 = Lake("s3://bucket/prefix")
    assert s3.curated("dim_customer", day) == "s3://bucket/prefix/lake/dim_customer/dt=2026-01-02"
    assert s3.exports("finance", "x") == "s3://bucket/prefix/exports/finance/x"
    assert not s3.is_local


def test_the_run_states_of_two_s3_lakes_on_one_machine_stay_apart(tmp_path):
    """On an S3 lake the run records stay in the machine's temp dir: one folder per lake, so a
    run against one lake never finds another lake's tasks already done."""
    import tempfile

    first, second = Lake("s3://bucket/one"), Lake("s3://bucket/two")
    base = os.path.join(tempfile.gettempdir(), "analytics-runs")
    assert os.path.dirname(first.runs) == os.path.dirname(second.runs) == base
    assert first.runs != second.runs
    assert Lake("s3://bucket/one").runs == first.runs
    assert Lake(str(tmp_path)).runs == f"{tmp_path}/_runs"
