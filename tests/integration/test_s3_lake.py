"""Every Spark job on an s3:// lake (DESIGN §8.1): a moto server stands in for S3, Spark reaches it
through Hadoop's S3A connector (resolved from Maven Central into the jar cache), configured only
by the standard AWS variables. The same generated landing day is processed on a folder lake and
on the S3 lake, by the same `analytics run ... --task` commands, and both lakes must hold the same
rows in the same partitions (on S3, as their manifests list them); a second run on S3 must change
nothing (no duplicate, no object of the first run left, no directory marker)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest

from orchestration.core.lake import Lake
from orchestration.devtools.generate import GenerateOptions, generate
from tests.published import published

pytestmark = pytest.mark.spark

DAY = dt.date(2026, 10, 28)
REGION = "eu-west-1"
BUCKET = "lake"
PREFIX = "platform"
SALT = "s3-test-salt"
# Every Spark task of every pipeline, in an order that satisfies their dependencies.
COMMANDS = [
    ["run", "ace_daily", "--date", DAY.isoformat(), "--task", "notification_attempted_daily"],
    ["run", "ace_daily", "--date", DAY.isoformat(), "--task", "notification_delivered_daily"],
    ["run", "ace_daily", "--date", DAY.isoformat(), "--task", "outcome_experience_lookup_daily"],
    ["run", "social_daily", "--date", DAY.isoformat(), "--task", "social_curation_daily"],
    ["run", "social_daily", "--date", DAY.isoformat(), "--task", "social_analytics"],
    ["run", "listings_weekly", "--date", DAY.isoformat(), "--task", "listings_postprocessing"],
]
# One process (one JVM) runs every command through the CLI, as `analytics` would one by one,
# twice: after each round it writes down the objects of the lake (key → ETag) for the test.
DRIVER = (
    "import json, sys, boto3\n"
    "from orchestration.cli import cli\n"
    "commands, bucket, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]\n"
    "for round in (1, 2):\n"
    "    for args in commands:\n"
    "        cli.main(args, prog_name='analytics', standalone_mode=False)\n"
    "    pages = boto3.client('s3').get_paginator('list_objects_v2').paginate(Bucket=bucket)\n"
    "    objects = {o['Key']: o['ETag'] for p in pages for o in p.get('Contents', [])}\n"
    "    with open(f'{out}/round-{round}.json', 'w') as f:\n"
    "        json.dump(objects, f)\n"
    "from pyspark import SparkFiles\n"
    "import os\n"
    "with open(f'{out}/user-files.json', 'w') as f:\n"
    "    json.dump(os.listdir(SparkFiles.getRootDirectory()), f)\n"
)
OUTPUT_ZONES = ("lake", "quarantine", "exports")


@pytest.fixture(scope="module")
def s3(moto_server):
    client = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> Path:
    """A generated landing day (every raw dataset) in a folder lake."""
    root = tmp_path_factory.mktemp("folder") / "lake"
    generate(Lake(str(root)), GenerateOptions(DAY, days=1, scale=300, seed=11))
    return root


def _run_twice(commands: list[list[str]], env: dict[str, str], out: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(commands), BUCKET, str(out)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _s3_env(endpoint: str) -> dict[str, str]:
    return {
        "LAKE_ROOT": f"s3://{BUCKET}/{PREFIX}",
        "PII_SALT": SALT,
        # A rerun's publish deletes the version it replaces at once (no reader to wait for).
        "PUBLISH_RETENTION_HOURS": "0",
        # The standard variables of every AWS SDK; nothing in the code names the endpoint.
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
    }


def _upload_raw(s3, root: Path) -> None:
    for path in sorted((root / "raw").rglob("*")):
        if path.is_file():
            key = f"{PREFIX}/{path.relative_to(root).as_posix()}"
            s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())


def _written(objects: dict[str, str]) -> dict[str, str]:
    """The objects the jobs wrote (everything but the raw zone), by key under the lake root."""
    relative = {k.removeprefix(PREFIX + "/"): v for k, v in objects.items()}
    return {k: v for k, v in relative.items() if not k.startswith("raw/")}


def _objects(s3) -> dict[str, str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + "/")
    return _written({o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])})


def _rows(table, root: str) -> Counter:
    """Rows of a Parquet file as a multiset; a quarantined line's source file relative to the lake."""
    rows = Counter()
    for row in table.to_pylist():
        if row.get("source_file"):
            row["source_file"] = row["source_file"].split(root, 1)[-1]
        rows[tuple(sorted((k, repr(v)) for k, v in row.items()))] += 1
    return rows


def _folder_outputs(root: Path) -> tuple[dict[str, Counter], dict[str, bytes]]:
    """(partition folder → rows, document → bytes) of a folder lake's outputs."""
    partitions: dict[str, Counter] = {}
    documents: dict[str, bytes] = {}
    for zone in OUTPUT_ZONES:
        for path in sorted((root / zone).rglob("*")):
            if not path.is_file() or any(p.startswith((".", "_")) for p in path.parts):
                continue
            relative = path.relative_to(root)
            if path.suffix == ".parquet":
                folder = relative.parent.as_posix()
                partitions[folder] = partitions.get(folder, Counter()) + _rows(
                    pq.read_table(path), str(root)
                )
            else:
                documents[relative.as_posix()] = path.read_bytes()
    return partitions, documents


def _s3_outputs(s3) -> tuple[dict[str, Counter], dict[str, bytes]]:
    """(published partition → rows, document → bytes) of the S3 lake's outputs: the partitions
    as their manifests list them (what Athena reads)."""
    bodies = {
        relative: s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{relative}")["Body"].read()
        for relative in sorted(_objects(s3))
    }
    partitions = {
        partition: sum(
            (_rows(pq.read_table(io.BytesIO(bodies[k])), f"{BUCKET}/{PREFIX}") for k in keys),
            Counter(),
        )
        for partition, keys in published(bodies, _key).items()
    }
    documents = {k: v for k, v in bodies.items() if _is_document(k)}
    return partitions, documents


def _key(uri: str) -> str:
    return uri.removeprefix(f"s3://{BUCKET}/{PREFIX}/")


def _is_document(key: str) -> bool:
    """Not a partition's data, manifest or version mark: a file for consumers."""
    return not (key.endswith(".parquet") or "/_symlink/" in key or "/v=" in key)


def _run_on_folder_lake(root: Path) -> None:
    """The same commands on the folder lake, in this process's Spark session (the runner is
    what `analytics run ... --task` calls)."""
    from orchestration.core.settings import Settings
    from orchestration.local.runner import Runner
    from orchestration.pipelines import PIPELINES

    settings = Settings(LAKE_ROOT=str(root), PII_SALT=SALT)
    for _, pipeline, _, value, _, task in COMMANDS:
        result = Runner(settings).run(PIPELINES[pipeline].only(task), {"date": value})
        assert result.succeeded, (pipeline, task)


def test_every_spark_job_writes_the_same_rows_on_s3_and_a_rerun_changes_nothing(
    landed, s3, moto_server, spark, tmp_path
):
    _upload_raw(s3, landed)
    _run_on_folder_lake(landed)
    folder_partitions, folder_documents = _folder_outputs(landed)
    # Every job wrote something: curated and quarantined days, statistics shards, documents.
    expected_tables = {
        "lake/notification_attempts",
        "lake/notification_receipts",
        "lake/experiences",
        "lake/ticketing_orders",
        "lake/social_event_stats",
        "lake/social_brand_stats",
        "lake/listings",
        "lake/listings_neighbourhood_stats",
        "quarantine/notification_attempts",
    }
    assert expected_tables <= {p.split("/dt=")[0] for p in folder_partitions}
    assert folder_documents, "the social analytics job wrote no document"

    from spark_jobs.common.session import bundled_hadoop_version, jar_cache, resolved_s3a_jars

    cache = jar_cache(os.environ.get("SPARK_JARS_CACHE"))
    listed_before = resolved_s3a_jars(cache, "3.4.2")
    # What the first run on S3 left is checked by the second run's process: nothing of the
    # first run's data files may be left, and the rows must be the same.
    _run_twice(COMMANDS, _s3_env(moto_server), tmp_path)
    if listed_before:
        # The jars an earlier session resolved were opened in place (on the class path), not
        # copied into the session's temporary folder as `spark.jars` are (616 MiB each JVM).
        copied = json.loads((tmp_path / "user-files.json").read_text())
        assert not [name for name in copied if name.endswith(".jar")], copied
    # The connector's jars are written down where the sessions find them (by the session that
    # resolved them, or by `make spark-jars`): hadoop-aws and the AWS SDK bundle it needs.
    resolved = resolved_s3a_jars(cache, "3.4.2")
    assert bundled_hadoop_version() == "3.4.2"
    assert resolved and {Path(j).name for j in resolved} >= {
        "org.apache.hadoop_hadoop-aws-3.4.2.jar",
        "software.amazon.awssdk_bundle-2.29.52.jar",
    }
    first = _written(json.loads((tmp_path / "round-1.json").read_text()))
    second = _written(json.loads((tmp_path / "round-2.json").read_text()))
    s3_partitions, s3_documents = _s3_outputs(s3)
    assert s3_partitions.keys() == folder_partitions.keys()
    for folder, rows in folder_partitions.items():
        assert s3_partitions[folder] == rows, folder
    assert s3_documents == folder_documents
    for run in (first, second):
        assert not [k for k in run if k.endswith("/") or "_scratch" in k or "_temporary" in k]
    # Every data file was replaced (new names, as many) and none of the first run's is left
    # (this lake keeps no superseded version: PUBLISH_RETENTION_HOURS=0); the documents were
    # rewritten in place with the same bytes.
    first_data = {k for k in first if k.endswith(".parquet")}
    second_data = {k for k in second if k.endswith(".parquet")}
    assert len(second_data) == len(first_data)
    assert not first_data & second_data
    assert {k: v for k, v in second.items() if _is_document(k)} == {
        k: v for k, v in first.items() if _is_document(k)
    }
