"""The run lock on an S3 lake holds across machines (DESIGN §9): a conditional object under
`_runs/locks/` in the lake, against the emulated S3 (a moto server, reached from other processes
as from other machines). The second run is refused with the holder's run id and start time; an
expired lock (a dead holder) is taken over; a run releases only its own lock."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import boto3
import pytest

from orchestration.core.lake import Lake
from orchestration.core.locks import LockHeld, waiting_lock
from orchestration.core.settings import Settings
from orchestration.local.runner import RunError, run_lock

REGION = "eu-west-1"
ROOT = Path(__file__).resolve().parents[2]
PARAMS = {"date": "2026-10-28"}
# Another machine: its own process takes the lock and holds it until told to stop.
HOLDER = (
    "import sys, time, pathlib\n"
    "from orchestration.core.lake import Lake\n"
    "from orchestration.local.runner import run_lock\n"
    "root, stop = sys.argv[1], pathlib.Path(sys.argv[2])\n"
    "with run_lock(Lake(root), 'ace_daily', {'date': '2026-10-28'}, run_id='run-on-machine-a'):\n"
    "    stop.with_suffix('.held').touch()\n"
    "    while not stop.exists():\n"
    "        time.sleep(0.05)\n"
)


@pytest.fixture
def aws_env(moto_server, monkeypatch) -> dict[str, str]:
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "PII_SALT": "lock-test-salt",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def s3_lake(aws_env) -> tuple[str, str]:
    bucket = f"lock-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return bucket, f"s3://{bucket}/lake"


def lock_key() -> str:
    return "lake/_runs/locks/ace_daily_date=2026-10-28.json"


def put_lock(bucket: str, run_id: str, started_at: str, expires_at: str) -> None:
    """A lock object as another run left it (the record locks.Holder writes)."""
    record = {"run_id": run_id, "started_at": started_at, "host": "elsewhere", "pid": 1,
              "expires_at": expires_at}  # fmt: skip
    boto3.client("s3").put_object(Bucket=bucket, Key=lock_key(), Body=json.dumps(record).encode())


def lock_holder(bucket: str) -> str:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=lock_key())["Body"].read()
    return json.loads(body)["run_id"]


def test_a_run_on_another_machine_is_refused_with_the_holders_run_and_start(
    s3_lake, aws_env, tmp_path
):
    bucket, root = s3_lake
    stop = tmp_path / "stop"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, root, str(stop)],
        cwd=ROOT,
        env={**os.environ, **aws_env},
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not stop.with_suffix(".held").exists():
            assert holder.poll() is None, holder.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        held = json.loads(
            boto3.client("s3").get_object(Bucket=bucket, Key=lock_key())["Body"].read()
        )
        assert held["run_id"] == "run-on-machine-a"

        # The same pipeline and day from here (the CLI, as a user or a scheduler would run it).
        refused = subprocess.run(
            [sys.executable, "-m", "orchestration.cli", "run", "ace_daily", "--date", "2026-10-28"],
            cwd=ROOT,
            env={**os.environ, **aws_env, "LAKE_ROOT": root},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refused.returncode == 2, refused.stderr
        said = " ".join(refused.stderr.split())
        assert "is already running: run run-on-machine-a" in said
        assert f"started {held['started_at']}" in said
        assert "Traceback" not in said
        # Other parameters are another lock.
        with run_lock(Lake(root), "ace_daily", {"date": "2026-10-29"}, run_id="other-day"):
            pass
    finally:
        stop.touch()
        assert holder.wait(timeout=60) == 0
    # Released: the next run takes it.
    with run_lock(Lake(root), "ace_daily", PARAMS, run_id="next"):
        pass
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="lake/_runs/locks/")
    assert listed.get("KeyCount", 0) == 0


def test_an_expired_lock_of_a_dead_holder_is_taken_over(s3_lake):
    bucket, root = s3_lake
    put_lock(bucket, "died", "2026-10-28T05:00:00+00:00", "2026-10-28T17:00:00+00:00")
    with run_lock(Lake(root), "ace_daily", PARAMS, run_id="alive") as holder:
        assert lock_holder(bucket) == "alive" == holder.run_id
    # A lock that has not expired is not taken over.
    put_lock(bucket, "still-running", "2026-10-28T05:00:00+00:00", "2999-01-01T00:00:00+00:00")
    refused = "already running: run still-running, started 2026-10-28"
    with pytest.raises(RunError, match=refused), run_lock(Lake(root), "ace_daily", PARAMS):
        pass


def test_a_run_releases_only_its_own_lock(s3_lake):
    """A run that outlived its lock's expiry (and was taken over) leaves its successor's lock."""
    bucket, root = s3_lake
    with run_lock(Lake(root), "ace_daily", PARAMS, run_id="slow"):
        put_lock(bucket, "successor", "2026-10-28T18:00:00+00:00", "2999-01-01T00:00:00+00:00")
    assert lock_holder(bucket) == "successor"


def test_the_settings_lake_on_s3_locks_in_the_lake(s3_lake):
    _, root = s3_lake
    lake = Lake.from_settings(Settings(LAKE_ROOT=root, PII_SALT="lock-test-salt"))
    assert (
        lake.run_lock("ace_daily_date=2026-10-28")
        == f"{root}/_runs/locks/ace_daily_date=2026-10-28.json"
    )


def test_writers_that_wait_for_a_lock_take_it_in_turn_and_give_up_naming_the_holder(s3_lake):
    """The publishing lock of the shards of a day: waited for, not refused."""
    bucket, root = s3_lake
    lake, name = Lake(root), "ace_daily_date=2026-10-28"
    short = dict(wait=dt.timedelta(seconds=0.5), ttl=dt.timedelta(minutes=5), poll=0.05)
    put_lock(bucket, "shard 1-of-3", "2026-10-28T05:00:00+00:00", "2999-01-01T00:00:00+00:00")
    refused = "run shard 1-of-3, started 2026-10-28"
    with pytest.raises(LockHeld, match=refused), waiting_lock(lake, name, "2-of-3", "p", **short):
        pass
    # Three writers at once, the lock still held: they wait, then take it one at a time.
    inside, most, turns = [0], [0], []
    guard = threading.Lock()

    def writer(run_id: str) -> None:
        long = dict(short, wait=dt.timedelta(seconds=60))
        with waiting_lock(lake, name, run_id, "publishing", **long):
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            assert lock_holder(bucket) == run_id
            time.sleep(0.2)
            with guard:
                inside[0] -= 1
                turns.append(run_id)

    threads = [threading.Thread(target=writer, args=(f"shard {k}-of-3",)) for k in (2, 3, 4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    assert turns == []  # nobody took the held lock
    boto3.client("s3").delete_object(Bucket=bucket, Key=lock_key())
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(turns) == ["shard 2-of-3", "shard 3-of-3", "shard 4-of-3"]
    assert most[0] == 1
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="lake/_runs/locks/")
    assert listed.get("KeyCount", 0) == 0
