"""Run locks: one run of a pipeline with the same parameters at a time (DESIGN §9).

On a folder lake the lock is a file under `_runs/locks/` created exclusively, reclaimed when the
process that holds it is gone. On an S3 lake, runs on different machines share it: the lock is
an object under `_runs/locks/` written with a conditional PUT (`If-None-Match: *`, which S3
refuses when the object exists), holding the run id, start time and an expiry. A lock past its
expiry (its holder died without releasing it) is taken over by a PUT conditional on the ETag
that was read (`If-Match`), so two runs that both find it stale cannot both take it.

The same locks, waited for instead of refused (`waiting_lock`), serialize writers that may run
at once by design, such as the shards of one day rewriting the partitions they share.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import asdict, dataclass

from orchestration.core.errors import InputError
from orchestration.core.lake import Lake, split_s3_uri

log = logging.getLogger(__name__)

# How long an S3 lock holds without its run: past it, the holder is taken for dead. Longer than
# any run may last (a task's timeout times its attempts, for every task of a pipeline).
DEFAULT_TTL = dt.timedelta(hours=12)


class LockHeld(InputError):
    """Another run holds the lock: the message names it; wait for it, or check it is gone."""


@dataclass(frozen=True)
class Holder:
    run_id: str
    started_at: str  # ISO 8601, UTC
    host: str
    pid: int
    expires_at: str  # ISO 8601, UTC

    def describe(self) -> str:
        return f"run {self.run_id}, started {self.started_at} on {self.host} (pid {self.pid})"

    @classmethod
    def parse(cls, body: bytes) -> Holder | None:
        try:
            return cls(**json.loads(body))
        except (ValueError, TypeError):
            return None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_holder(run_id: str, ttl: dt.timedelta = DEFAULT_TTL) -> Holder:
    started = _now()
    return Holder(
        run_id=run_id,
        started_at=started.isoformat(timespec="seconds"),
        host=socket.gethostname(),
        pid=os.getpid(),
        expires_at=(started + ttl).isoformat(timespec="seconds"),
    )


def _expired(holder: Holder | None) -> bool:
    """A lock that cannot be read (a crash mid-write, an older format) counts as expired."""
    if holder is None:
        return True
    try:
        return dt.datetime.fromisoformat(holder.expires_at) <= _now()
    except ValueError:
        return True


def _failed_precondition(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    return code in ("PreconditionFailed", "412", "ConditionalRequestConflict")


@contextmanager
def s3_lock(uri: str, holder: Holder, what: str, client=None) -> Iterator[Holder]:
    """Hold the lock object `uri` (s3://bucket/key) for the block; refuse with LockHeld naming
    the holder's run id and start time when another run holds it."""
    import boto3
    from botocore.exceptions import ClientError

    s3 = client or boto3.client("s3")
    bucket, key = split_s3_uri(uri)
    body = json.dumps(asdict(holder)).encode()
    etag = None
    for _ in range(3):
        try:
            etag = s3.put_object(
                Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", ContentType="application/json"
            )["ETag"]
            break
        except ClientError as error:
            if not _failed_precondition(error):
                raise
        try:
            found = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                continue  # released in between: try again
            raise
        current = Holder.parse(found["Body"].read())
        if not _expired(current):
            raise LockHeld(f"{what} is already running: {current.describe()} (lock {uri})")
        try:  # stale: take it over, unless another run took it over first
            etag = s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                IfMatch=found["ETag"],
                ContentType="application/json",
            )["ETag"]
            break
        except ClientError as error:
            if not _failed_precondition(error):
                raise
    else:
        raise LockHeld(f"{what}: could not take lock {uri} (other runs keep taking it)")
    try:
        yield holder
    finally:
        try:
            # Only our own lock: a run that outlived its expiry does not remove its successor's.
            s3.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
        except ClientError as error:
            if not _failed_precondition(error):
                raise


@contextmanager
def folder_lock(path: str, holder: Holder, what: str) -> Iterator[Holder]:
    """Hold the lock file `path` for the block (created exclusively; reclaimed when the process
    that wrote it is gone)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Written whole beside the lock, then linked to its name (link refuses an existing name):
    # the lock never exists without its holder, so it is never read half-written.
    written = f"{path}.{holder.pid}.{holder.run_id}"
    with open(written, "w", encoding="utf-8") as handle:
        json.dump(asdict(holder), handle)
    try:
        _link(written, path, what)
    finally:
        os.remove(written)
    try:
        yield holder
    finally:
        os.remove(path)


def _link(written: str, path: str, what: str) -> None:
    for _ in range(2):
        try:
            os.link(written, path)
            return
        except FileExistsError:
            current = _read_holder(path)
            if _process_gone(current):
                os.remove(path)
                continue
            running = current.describe() if current else "another run"
            raise LockHeld(
                f"{what} is already running: {running} (lock {path}); wait for it to finish"
            ) from None
    raise LockHeld(f"could not take lock {path}: other runs keep taking it")


def _read_holder(path: str) -> Holder | None:
    try:
        with open(path, "rb") as handle:
            return Holder.parse(handle.read())
    except FileNotFoundError:
        return None


def _process_gone(holder: Holder | None) -> bool:
    """The lock's process is gone (on this machine); an unreadable lock is gone too."""
    if holder is None:
        return True
    if holder.host != socket.gethostname():
        return _expired(holder)
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lake_lock(lake: Lake, name: str, holder: Holder, what: str) -> AbstractContextManager[Holder]:
    """The lock `name` of a lake: a file under `_runs/locks/` on a folder lake, an object there
    on an S3 lake (shared by every machine)."""
    if lake.is_local:
        return folder_lock(os.path.join(lake.runs, "locks", f"{name}.lock"), holder, what)
    return s3_lock(lake.run_lock(name), holder, what)


@contextmanager
def waiting_lock(
    lake: Lake,
    name: str,
    run_id: str,
    what: str,
    wait: dt.timedelta,
    ttl: dt.timedelta,
    poll: float = 0.5,
) -> Iterator[Holder]:
    """Hold the lake's lock `name` for the block, waiting (polling, with jitter) while another
    writer holds it; LockHeld naming the holder when it is still held after `wait`. A holder that
    died is reclaimed: at once on this machine, after its `ttl` on S3 (so `wait` exceeds it)."""
    deadline = time.monotonic() + wait.total_seconds()
    waited = False
    while True:
        stack = ExitStack()
        try:
            holder = stack.enter_context(lake_lock(lake, name, new_holder(run_id, ttl), what))
        except LockHeld as held:
            if time.monotonic() >= deadline:
                raise LockHeld(f"{held}; waited {wait} for it") from None
            if not waited:
                log.info("waiting for %s: %s", what, held)
                waited = True
            time.sleep(poll * (1 + random.random()))  # nosec B311: jitter, not a secret
            continue
        with stack:
            yield holder
        return
