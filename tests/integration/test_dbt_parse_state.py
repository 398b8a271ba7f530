"""dbt's partial-parse state on an S3 lake: each container starts with an empty target folder,
so the state is kept in the lake (`_runs/dbt/<target>/`) and the next invocation re-parses only
what changed. Against the emulated S3; `dbt parse` of the Athena target needs no SQL engine.
And what a new run day re-parses: nothing (the run parameters are read when the project runs)."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from orchestration.local.dbt import run_dbt

REGION = "eu-west-1"
FULL_PARSE = "Unable to do partial parsing"


@pytest.fixture
def athena_on_s3(moto_server, monkeypatch) -> tuple[Settings, str]:
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    bucket = f"parse-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    settings = Settings(
        LAKE_ROOT=f"s3://{bucket}/lake",
        PII_SALT="parse-state-salt",
        ANALYTICS_TARGET="athena",
        ATHENA_STAGING_DIR=f"s3://{bucket}/athena-results/",
        ATHENA_DATA_DIR=f"s3://{bucket}/models/",
    )
    return settings, bucket


def parse(settings: Settings, log) -> str:
    run_dbt(settings, Lake.from_settings(settings), ["parse"], {}, str(log))
    return log.read_text()


def test_the_next_container_reuses_the_parse_state_kept_in_the_lake(athena_on_s3, tmp_path):
    settings, bucket = athena_on_s3
    s3, key = boto3.client("s3"), "lake/_runs/dbt/athena/partial_parse.msgpack"
    first = parse(settings, tmp_path / "first.log")
    assert f"{FULL_PARSE} because saved manifest not found" in first
    kept = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert len(kept) > 10_000  # the parsed project, not an empty file
    # A new invocation starts with an empty target folder of its own, as a new container does.
    second = parse(settings, tmp_path / "second.log")
    assert FULL_PARSE not in second, second


def test_an_unusable_parse_state_costs_a_full_parse_only(athena_on_s3, tmp_path):
    settings, bucket = athena_on_s3
    s3, key = boto3.client("s3"), "lake/_runs/dbt/athena/partial_parse.msgpack"
    s3.put_object(Bucket=bucket, Key=key, Body=b"not a msgpack state")
    parse(settings, tmp_path / "parse.log")  # succeeds: run_dbt raises when dbt fails
    # The state dbt wrote, a whole parsed project, replaced the unusable one.
    assert len(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) > 10_000


def _reparsed(lake: Lake) -> list[str]:
    """The files dbt's last invocation on `lake` parsed again (its debug log, dbt.log)."""
    log = Path(lake.root, "_dbt", "logs", "dbt.log").read_text(encoding="utf-8")
    last = log[log.rindex("Running with dbt") :]
    assert "Partial parsing enabled" in last or "skipping parsing" in last, last[-3000:]
    return [
        line.split("updated file: ")[1] for line in last.splitlines() if "updated file: " in line
    ]


def test_a_new_run_day_or_month_reparses_no_file(tmp_path):
    """A scheduled run finds the state the run before it left: another landing day (or a
    month's rebuild between two days) must not make dbt parse files again."""
    settings = Settings(LAKE_ROOT=str(tmp_path / "lake"))
    lake = Lake.from_settings(settings)
    log = str(tmp_path / "parse.log")
    run_dbt(settings, lake, ["parse"], {"ACE_LANDING_DATE": "2026-01-01"}, log)  # the first parse
    for params in (
        {"ACE_LANDING_DATE": "2026-01-02"},
        {"ACE_BILLING_MONTH": "2026-01"},
        {"ACE_LANDING_DATE": "2026-01-03"},
    ):
        run_dbt(settings, lake, ["parse"], params, log)
        assert _reparsed(lake) == [], params
