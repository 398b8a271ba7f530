"""Atomic publishing on a folder lake: a new version of a folder is written beside it and swapped
in, so a reader (or a crash at any moment) sees the old or the new version, never a mix."""

from __future__ import annotations

import ctypes
import os
import shutil
import uuid


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
