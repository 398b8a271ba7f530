"""An S3 lake's published partitions, read the way Athena reads a SymlinkTextInputFormat table
(written here from that format's rules, not with the code under test): every object under
`<table>/_symlink/dt=D/` not starting with `_` or `.` is a manifest; its lines are the URIs of
the partition's data files. `dt=D/manifest` is the day, `dt=D/<name>.manifest` a part of the
day (`shard=K-of-N`). Nothing else under the table is read."""

from __future__ import annotations

from collections.abc import Callable


def manifest_partition(key: str) -> str | None:
    """The partition a manifest key stands for (`lake/t/_symlink/dt=D/manifest` → `lake/t/dt=D`),
    or None for a key that is no manifest."""
    table, marker, rest = key.partition("/_symlink/")
    if not marker or "/" not in rest:
        return None
    day, name = rest.split("/", 1)
    if name.startswith(("_", ".")):
        return None
    return f"{table}/{day}" if name == "manifest" else f"{table}/{day}/{name[: -len('.manifest')]}"


def published(objects: dict[str, bytes], key_of: Callable[[str], str]) -> dict[str, list[str]]:
    """Partition → keys of the data files its manifest lists. `objects` maps keys to bodies;
    `key_of` turns a listed s3:// URI into such a key."""
    out = {}
    for key, body in objects.items():
        partition = manifest_partition(key)
        if partition is not None:
            out[partition] = sorted(key_of(line) for line in body.decode().splitlines() if line)
    return out
