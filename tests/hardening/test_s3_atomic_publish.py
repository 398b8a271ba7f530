"""Atomic publishing on S3 (DESIGN §9), in the emulated account: a Spark job on an s3:// lake
writes each run to a new version folder and switches the partition's manifest in one PUT. The
test reads the lake as Athena reads a SymlinkTextInputFormat table (tests/published.py), while
the job runs: every read sees the old or the new day whole. A rerun killed mid-write (SIGKILL
of its process group) leaves the manifest and the version it lists intact; a later run
publishes, the replaced version stays for the retention, and pruning removes what is older.

moto runs no Athena SQL: that Athena reads a table through its manifests is the Glue
declaration's part (tests/infra/test_stack.py checks the format); here the manifests are read
by the rules of that format."""

from __future__ import annotations

import datetime as dt
import io
import signal
import subprocess
import sys
import threading

import boto3
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from orchestration.core import publishing
from tests.hardening.test_crash_safety import DAY, attempts, kill_when, start
from tests.published import published

pytestmark = pytest.mark.spark

BUCKET = "atomic-lake"
REGION = "eu-west-1"
PARTITION = f"lake/notification_attempts/dt={DAY}"
MANIFEST = f"lake/notification_attempts/_symlink/dt={DAY}/manifest"
RAW = f"raw/notifications/attempted/dt={DAY}"


@pytest.fixture
def s3(moto_server, monkeypatch):
    for name, value in _aws_env(moto_server).items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def _aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }


def _job(moto_server: str) -> subprocess.Popen:
    """The job's own entry point (as EMR Serverless submits it) on the S3 lake."""
    env = {
        **_aws_env(moto_server),
        "LAKE_ROOT": f"s3://{BUCKET}",
        "PII_SALT": "atomic-test-salt",
        "SPARK_SHUFFLE_PARTITIONS": "2",
    }
    return start(
        [sys.executable, "-m", "spark_jobs.notification_attempted", "--date", DAY.isoformat()],
        env,
    )


def _finish(job: subprocess.Popen) -> None:
    _, stderr = job.communicate(timeout=600)
    assert job.returncode == 0, stderr.decode()[-3000:]


def _keys(s3) -> dict[str, dict]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return {o["Key"]: o for page in pages for o in page.get("Contents", [])}


def _read(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _day(s3) -> tuple[bytes, list[str], dict[str, int]]:
    """(manifest, data keys it lists, notification ids per prefix) of the day, read as Athena
    reads it: the manifest first, then the files it lists."""
    manifest = _read(s3, MANIFEST)
    [(partition, keys)] = published({MANIFEST: manifest}, lambda u: u.split("/", 3)[3]).items()
    assert partition == PARTITION
    ids: dict[str, int] = {}
    for key in keys:
        column = pq.read_table(io.BytesIO(_read(s3, key)), columns=["notification_id"])[0]
        for counted in pc.value_counts(pc.utf8_slice_codeunits(column, 0, 1)).to_pylist():
            ids[counted["values"]] = ids.get(counted["values"], 0) + counted["counts"]
    return manifest, keys, ids


def _versions(s3) -> set[str]:
    """The version folders of the day (`…/dt=D/v=<version>`)."""
    return {
        k.split("/v=")[0] + "/v=" + k.split("/v=")[1].split("/")[0]
        for k in _keys(s3)
        if k.startswith(f"{PARTITION}/v=")
    }


class Reader(threading.Thread):
    """Reads the day over and over while a job runs (a read every PAUSE at most: the job needs
    the CPU more than the reads need to be back to back); records what each read saw."""

    PAUSE = 0.02

    def __init__(self, s3) -> None:
        super().__init__(daemon=True)
        self.s3, self.seen, self.stop = s3, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.seen.append(_day(self.s3)[2])
            self.stop.wait(self.PAUSE)


def test_a_rerun_on_s3_switches_the_day_whole_and_a_killed_one_changes_nothing(moto_server, s3):
    s3.put_object(Bucket=BUCKET, Key=f"{RAW}/first.jsonl", Body=attempts(1000, "a").encode())
    _finish(_job(moto_server))
    first_manifest, first_keys, first_ids = _day(s3)
    assert first_ids == {"a": 1000}
    [first_version] = _versions(s3)
    assert all(k.startswith(first_version + "/") for k in first_keys)

    # A much bigger delivery lands; the rerun is killed as soon as it starts writing its
    # version of the day, while a reader reads the day again and again.
    s3.put_object(Bucket=BUCKET, Key=f"{RAW}/second.jsonl", Body=attempts(300_000, "b").encode())
    reader = Reader(s3)
    reader.start()
    job = _job(moto_server)
    kill_when(job, lambda: len(_versions(s3)) > 1, timeout=300)
    assert job.returncode == -signal.SIGKILL
    abandoned = _versions(s3) - {first_version}
    assert abandoned  # it died mid-write ...
    assert _day(s3) == (first_manifest, first_keys, first_ids)  # ... and the day is as it was

    # The rerun completes: the day switches to its version, whole.
    _finish(_job(moto_server))
    reader.stop.set()
    reader.join(timeout=60)
    manifest, keys, ids = _day(s3)
    assert ids == {"a": 1000, "b": 300_000}
    [current] = _versions(s3) - {first_version} - abandoned
    assert all(k.startswith(current + "/") for k in keys)
    assert reader.seen, "the reader never read the day"
    assert {tuple(sorted(s.items())) for s in reader.seen} <= {
        (("a", 1000),),
        (("a", 1000), ("b", 300_000)),
    }

    # The replaced version is marked, and kept for the retention (a query may still read it);
    # the killed run's folder is kept as well, until it is older than the retention.
    objects = _keys(s3)
    assert f"{first_version}/{publishing.SUPERSEDED}" in objects
    assert all(k in objects for k in first_keys)
    assert publishing.prune(f"s3://{BUCKET}/{PARTITION}", dt.timedelta(hours=1)) == []
    assert _versions(s3) == {first_version, current} | abandoned
    # Past the retention both go; the published version stays, and the day reads the same.
    pruned = publishing.prune(f"s3://{BUCKET}/{PARTITION}", dt.timedelta(0))
    assert pruned == sorted(f"s3://{BUCKET}/{v}" for v in {first_version} | abandoned)
    assert _versions(s3) == {current}
    assert _day(s3) == (manifest, keys, ids)
