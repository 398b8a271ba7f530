"""Content digests of a folder, for tests that expect byte-identical outputs."""

from __future__ import annotations

import hashlib
import os


def digest_tree(root: str) -> dict[str, str]:
    """Relative path → sha256 of every file under `root`."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                out[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return out
