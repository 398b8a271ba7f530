"""dbt's artefacts of a run on an S3 lake are kept in the lake's run folder (the container's
files vanish with it); a local lake keeps its own target/ and logs/."""

from __future__ import annotations

import boto3
from moto import mock_aws

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from orchestration.local.dbt import dbt_env, keep_artifacts

REGION = "eu-west-1"


def test_artifacts_are_uploaded_under_the_tasks_run_folder(tmp_path, monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "target").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "target" / "run_results.json").write_text('{"results": []}')
    (tmp_path / "target" / "manifest.json").write_text('{"nodes": {}}')
    (tmp_path / "target" / "graph.gpickle").write_bytes(b"not kept")
    (tmp_path / "logs" / "dbt.log").write_text("12:00:00 Completed successfully\n")
    lake = Lake("s3://artifacts-lake")
    folder = lake.run_artifacts("ace_daily", "20261203T050000-abc123", "dbt_build_ace")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(
            Bucket="artifacts-lake", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        written = keep_artifacts(str(tmp_path), f"{folder}/build")
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="artifacts-lake")["Contents"]}
        log = s3.get_object(
            Bucket="artifacts-lake", Key=next(k for k in keys if k.endswith(".log"))
        )
        assert log["Body"].read() == b"12:00:00 Completed successfully\n"
    prefix = "_runs/artifacts/ace_daily/20261203T050000-abc123/dbt_build_ace/build/"
    assert keys == {prefix + n for n in ("run_results.json", "manifest.json", "dbt.log")}
    assert len(written) == 3


def test_dbt_gets_the_athena_settings_and_a_work_folder_on_s3(tmp_path, monkeypatch):
    settings = Settings(
        LAKE_ROOT="s3://lake",
        ANALYTICS_TARGET="athena",
        PII_SALT="s3cret",
        AWS_REGION="eu-central-1",
        ATHENA_STAGING_DIR="s3://results/dbt/",
        ATHENA_DATA_DIR="s3://lake/models/",
        ATHENA_WORKGROUP="wg",
        ATHENA_SCHEMA="models",
    )
    env = dbt_env(settings, Lake.from_settings(settings), str(tmp_path))
    assert {k: env[k] for k in ("ATHENA_STAGING_DIR", "ATHENA_DATA_DIR", "ATHENA_WORKGROUP")} == {
        "ATHENA_STAGING_DIR": "s3://results/dbt/",
        "ATHENA_DATA_DIR": "s3://lake/models/",
        "ATHENA_WORKGROUP": "wg",
    }
    assert (env["AWS_REGION"], env["ATHENA_SCHEMA"], env["LAKE_SCHEMA"]) == (
        "eu-central-1",
        "models",
        "lake",
    )
    assert env["DBT_TARGET_PATH"] == str(tmp_path / "target")
    local = dbt_env(Settings(LAKE_ROOT=str(tmp_path)), Lake(str(tmp_path)), "/unused")
    assert local["DBT_TARGET_PATH"] == str(tmp_path / "_dbt" / "target")
