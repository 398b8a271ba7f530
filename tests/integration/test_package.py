"""`analytics package` is reproducible and self-contained; `analytics publish` uploads it (moto)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from orchestration.aws.package import PublishError, build_bundle, publish, read_bundle
from orchestration.core.errors import InputError
from tests.digests import digest_tree


@pytest.fixture(scope="module")
def bundle(synthesized):
    """The bundle the test run's CDK app packaged (read only here)."""
    return read_bundle(str(synthesized.outdir.parent / "dist"))


def test_same_sources_same_bytes(bundle, tmp_path):
    again = build_bundle(str(tmp_path / "again"))
    assert again.version == bundle.version
    assert digest_tree(bundle.folder) == digest_tree(again.folder)


def test_bundle_holds_code_job_scripts_and_dbt_project(bundle):
    with zipfile.ZipFile(os.path.join(bundle.folder, "analytics.zip")) as archive:
        names = set(archive.namelist())
        assert {"spark_jobs/listings_postprocessing.py", "orchestration/pipelines.py"} <= names
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    for job in ("notification_attempted", "listings_postprocessing"):
        script = Path(bundle.folder, "jobs", f"{job}.py").read_text()
        assert f"run_job({job!r}, sys.argv[1:])" in script
    entry = Path(bundle.folder, "jobs", "run_task.py").read_text()
    assert "from orchestration.aws.spark_entry import main" in entry
    # The jobs' Java functions, compiled, beside the code (their source is not in the zip).
    with zipfile.ZipFile(os.path.join(bundle.folder, "analytics-functions.jar")) as archive:
        assert {"analytics/spark/JsonFields.class", "analytics/spark/IsoTimestamp.class"} <= set(
            archive.namelist()
        )
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    with zipfile.ZipFile(os.path.join(bundle.folder, "dbt_project.zip")) as archive:
        names = set(archive.namelist())
        assert "dbt_project/dbt_project.yml" in names
        assert not [n for n in names if n.startswith(("dbt_project/target/", "dbt_project/logs/"))]


def test_lambda_zip_imports_its_handlers_on_its_own(bundle, tmp_path):
    """Unzipped as Lambda does, the handlers import with nothing but the zip and the standard
    library on the path (boto3 is the Lambda runtime's; it is imported lazily)."""
    target = tmp_path / "task"
    with zipfile.ZipFile(os.path.join(bundle.folder, "lambda.zip")) as archive:
        archive.extractall(target)
    code = (
        "import sys; sys.path[:] = [p for p in sys.path if 'site-packages' not in p]; "
        f"sys.path.insert(0, {str(target)!r}); "
        "import orchestration.aws.handlers as h, ingestion.loader as l; "
        "from orchestration.outputs.reports import render_usage_report; "
        "from orchestration.workflows import USAGE_MONTHLY_REPORT as w; "
        # The Firehose transformation runs without pyarrow: one record through it.
        "import base64, json; r = h.transform_usage_events({'records': [{'recordId': '1', "
        "'approximateArrivalTimestamp': 0, 'data': base64.b64encode(json.dumps({'id': 'e', "
        "'userId': 'u', 'format': 'f', 'timestamp': '2026-10-05T13:00:00Z'}).encode()).decode()}]}); "
        "assert r['records'][0]['metadata']['partitionKeys'] == {'dt': '2026-10-05', 'hour': '13'}; "
        "assert 'pyarrow' not in sys.modules; "
        "print(h.spark_job_names(), sorted(l.TABLES), 'group by grouping sets' in w.sql)"
    )
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "listings_postprocessing" in done.stdout and "customers" in done.stdout
    assert done.stdout.strip().endswith("True")  # the workflow's SQL file is in the zip


def test_publish_uploads_the_bundle_and_its_version(bundle, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="analytics-code", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        keys = publish(read_bundle(bundle.folder), "analytics-code")
        stored = {o["Key"] for o in s3.list_objects_v2(Bucket="analytics-code")["Contents"]}
        body = s3.get_object(Bucket="analytics-code", Key="analytics/analytics.zip")["Body"].read()
        with pytest.raises(PublishError, match="cannot publish to s3://missing-bucket/analytics/"):
            publish(read_bundle(bundle.folder), "missing-bucket")
    assert set(keys) == stored
    expected = {*bundle.files, "manifest.json"}
    assert {k.removeprefix("analytics/") for k in stored if "/versions/" not in k} == expected
    assert {k.split("/", 3)[3] for k in stored if "/versions/" in k} == expected
    assert hashlib.sha256(body).hexdigest() == bundle.files["analytics.zip"]
    # the EMR steps read exactly these keys
    assert "analytics/jobs/listings_postprocessing.py" in stored


def test_the_spark_archive_is_a_packed_environment_for_the_runtime(bundle, tmp_path):
    with tarfile.open(os.path.join(bundle.folder, "spark_venv.tar.gz")) as archive:
        members = {m.name: m for m in archive.getmembers()}
    # The interpreter is the runtime's Python 3.11 (EMR's /usr/bin), not this machine's.
    assert members["bin/python"].issym()
    assert members["bin/python"].linkname == "/usr/bin/python3.11"
    site = "lib/python3.11/site-packages/"
    packages = {n[len(site) :].split("/")[0] for n in members if n.startswith(site)}
    assert {"pydantic", "pydantic_settings", "pydantic_core", "rich", "jinja2", "boto3"} <= packages
    assert "pyspark" not in packages  # the runtime provides Spark
    # Native code is built for the runtime's architecture (x86_64 Linux).
    native = [n for n in members if n.startswith(site + "pydantic_core/") and n.endswith(".so")]
    assert native and all("x86_64-linux-gnu" in n for n in native)
    assert {m.mtime for m in members.values()} == {0}


def test_publishing_without_a_bundle_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="run `analytics package"):
        read_bundle(str(tmp_path))
