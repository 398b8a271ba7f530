"""Atomic publishing: a reader (or a crash at any moment) sees the old or the new version of a
partition, never a mix. On a folder lake the new version is written beside the folder and swapped
in; on S3 it is written to a version folder and the partition's manifest switched to it."""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from orchestration.core.lake import split_s3_uri


def staging_dir_for(path: str) -> str:
    """A hidden sibling folder to write a new version of `path` into before swapping it in.

    Leftovers of earlier writers of the same folder that died mid-write (killed, out of memory)
    are removed first: readers skip hidden folders, and nobody else writes this folder now (runs
    of a pipeline for the same parameters are locked)."""
    parent, name = os.path.split(path.rstrip("/"))
    os.makedirs(parent, exist_ok=True)
    for leftover in os.listdir(parent):
        if leftover.startswith((f".staging-{name}-", f".retired-{name}-")):
            shutil.rmtree(os.path.join(parent, leftover), ignore_errors=True)
    return os.path.join(parent, f".staging-{name}-{uuid.uuid4().hex}")


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: str, b: str) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def swap_in(staging: str, path: str) -> None:
    """Replace folder `path` by `staging`, so readers (and a crash at any moment) see the old or
    the new version: one atomic exchange where the OS offers it, else two renames."""
    parent, name = os.path.split(path.rstrip("/"))
    if os.path.exists(path) and _exchange(staging, path):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the old version
        return
    retired = os.path.join(parent, f".retired-{name}-{uuid.uuid4().hex}")
    if os.path.exists(path):
        os.rename(path, retired)
    os.rename(staging, path)
    shutil.rmtree(retired, ignore_errors=True)


# --- S3: versions and manifests -----------------------------------------------------------------
#
# S3 has no rename, so a partition on S3 is published the way Delta Lake publishes for Athena:
# each write goes to a new version folder beside the others (`<partition>/v=<version>/`), and the
# partition's symlink manifest (`<table>/_symlink/dt=D/manifest`, one data file URI per line) is
# then replaced in one PUT. Athena reads a table declared with SymlinkTextInputFormat through its
# manifests (infra.glue_tables), and the lake's own readers (published_files) do too, so every
# reader sees the old or the new version, never a mix; a writer killed at any moment leaves the
# manifest, and the version it lists, as they were. A version that stopped being current is
# marked (`_superseded`, whose LastModified is when) and deleted by a later publish of the same
# table once older than the retention, so a query or job that read the old manifest can finish.

MANIFESTS = "_symlink"
VERSION = "v="
SUPERSEDED = "_superseded"


def new_version(now: dt.datetime | None = None) -> str:
    """A version folder name that sorts by the time it was started."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:8]}"


def partition_parts(path: str) -> tuple[str, str]:
    """(table root, partition) of a partition path: `…/lake/t/dt=D/shard=K` → (`…/lake/t`,
    `dt=D/shard=K`)."""
    parts = path.rstrip("/").split("/")
    for index, part in enumerate(parts):
        if part.startswith("dt="):
            return "/".join(parts[:index]), "/".join(parts[index:])
    raise ValueError(f"{path} is not a partition (no dt=… folder in it)")


def manifest_uri(path: str) -> str:
    """The manifest of a partition: one per day folder (`manifest`), or one per sub-partition of
    the day (`shard=K-of-N.manifest`): Athena reads every manifest of the day's folder."""
    root, partition = partition_parts(path)
    day, _, rest = partition.partition("/")
    name = f"{rest.replace('/', '.')}.manifest" if rest else "manifest"
    return f"{root}/{MANIFESTS}/{day}/{name}"


def version_uri(path: str, version: str) -> str:
    return f"{path.rstrip('/')}/{VERSION}{version}"


def version_of(file_uri: str) -> str:
    """The version folder a published data file is in."""
    head, marker, tail = file_uri.partition(f"/{VERSION}")
    if not marker:
        raise ValueError(f"{file_uri} is not in a version folder")
    return f"{head}/{VERSION}{tail.split('/', 1)[0]}"


def _visible(relative: str) -> bool:
    """What a Parquet reader reads: no part of the path hidden (`_SUCCESS`, `_temporary/`, `.x`)."""
    return not any(part.startswith(("_", ".")) for part in relative.split("/"))


def _client(s3: Any) -> Any:
    if s3 is not None:
        return s3
    import boto3

    return boto3.client("s3")


def _objects(s3: Any, uri: str) -> Iterator[dict]:
    bucket, key = split_s3_uri(uri.rstrip("/") + "/")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        yield from page.get("Contents", [])


def data_files(version: str, s3: Any = None) -> list[str]:
    """The data files of a version folder (S3 URIs, sorted)."""
    s3 = _client(s3)
    bucket = version.removeprefix("s3://").split("/", 1)[0]
    prefix = version.rstrip("/") + "/"
    found = (f"s3://{bucket}/{o['Key']}" for o in _objects(s3, version))
    return sorted(u for u in found if _visible(u.removeprefix(prefix)))


def published_files(path: str, s3: Any = None) -> list[str] | None:
    """The data files of a published partition (None: not published): what its manifest lists
    on S3, the folder's Parquet files locally."""
    if not path.startswith("s3://"):
        if not os.path.isdir(path):
            return None
        return sorted(os.path.join(path, n) for n in os.listdir(path) if n.endswith(".parquet"))
    s3 = _client(s3)
    bucket, key = split_s3_uri(manifest_uri(path))
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return [line for line in body.decode().splitlines() if line]


def published_partitions(table_root: str, s3: Any = None) -> list[str]:
    """Every published partition of a table on S3 (`<root>/dt=D[/…]`), from its manifests."""
    s3 = _client(s3)
    manifests = table_root.rstrip("/") + f"/{MANIFESTS}/"
    bucket = table_root.removeprefix("s3://").split("/", 1)[0]
    found = []
    for obj in _objects(s3, manifests):
        day, _, name = f"s3://{bucket}/{obj['Key']}".removeprefix(manifests).partition("/")
        rest = "" if name == "manifest" else "/" + name.removesuffix(".manifest").replace(".", "/")
        found.append(f"{table_root.rstrip('/')}/{day}{rest}")
    return sorted(found)


def published_table_files(table_root: str, s3: Any = None) -> list[str]:
    """The data files of every published partition of a table on S3 (manifests read at once)."""
    s3 = _client(s3)
    partitions = published_partitions(table_root, s3)
    with ThreadPoolExecutor(max_workers=16) as pool:
        listed = pool.map(lambda p: published_files(p, s3) or [], partitions)
    return [uri for files in listed for uri in files]


def _put(s3: Any, uri: str, body: bytes) -> None:
    bucket, key = split_s3_uri(uri)
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def _supersede(s3: Any, previous: list[str] | None, keep: str | None) -> None:
    for version in sorted({version_of(f) for f in previous or []} - {keep}):
        _put(s3, f"{version}/{SUPERSEDED}", dt.datetime.now(dt.UTC).isoformat().encode())


def publish_version(path: str, version: str, retention: dt.timedelta, s3: Any = None) -> list[str]:
    """Make the written version folder `version` the partition `path` (one PUT of its manifest),
    mark the version it replaces superseded, and prune the table; returns the files published."""
    s3 = _client(s3)
    files = data_files(version, s3)
    previous = published_files(path, s3)
    _put(s3, manifest_uri(path), "".join(f"{f}\n" for f in files).encode())
    _supersede(s3, previous, keep=version)
    prune(path, retention, s3)
    return files


def unpublish(path: str, retention: dt.timedelta, s3: Any = None) -> None:
    """Remove a partition from the table on S3 (its manifest), its data kept for the retention."""
    s3 = _client(s3)
    previous = published_files(path, s3)
    bucket, key = split_s3_uri(manifest_uri(path))
    s3.delete_object(Bucket=bucket, Key=key)
    _supersede(s3, previous, keep=None)
    prune(path, retention, s3)


def prune(path: str, retention: dt.timedelta, s3: Any = None) -> list[str]:
    """Delete the versions of `path`'s table superseded more than `retention` ago, and the
    partition's own versions that were never published and are older than that (left by a writer
    that died: the run lock expires long before). Returns the version folders deleted."""
    s3 = _client(s3)
    root, _ = partition_parts(path)
    bucket = root.removeprefix("s3://").split("/", 1)[0]
    versions: dict[str, list[dict]] = {}
    for obj in _objects(s3, root):
        uri = f"s3://{bucket}/{obj['Key']}"
        if f"/{VERSION}" in uri and f"/{MANIFESTS}/" not in uri:
            versions.setdefault(version_of(uri), []).append(obj)
    cutoff = dt.datetime.now(dt.UTC) - retention
    current = {version_of(f) for f in published_files(path, s3) or []}
    doomed = []
    for version, objects in versions.items():
        marks = [o for o in objects if o["Key"].endswith(f"/{SUPERSEDED}")]
        newest = max(o["LastModified"] for o in objects)
        superseded = bool(marks) and marks[0]["LastModified"] < cutoff
        abandoned = (
            not marks
            and version.startswith(f"{path.rstrip('/')}/{VERSION}")
            and version not in current
            and newest < cutoff
        )
        if superseded or abandoned:
            doomed.append(version)
            keys = [{"Key": o["Key"]} for o in objects]
            for start in range(0, len(keys), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start : start + 1000]})
    return sorted(doomed)
