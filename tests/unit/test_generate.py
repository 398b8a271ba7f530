from __future__ import annotations

import datetime as dt
import glob
import gzip
import json
import os

from orchestration.core.lake import Lake
from orchestration.devtools.generate import GenerateOptions, generate
from tests.digests import digest_tree


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    opts = GenerateOptions(dt.date(2026, 1, 30), days=3, scale=200, seed=7)
    generate(Lake(str(tmp_path / "a")), opts)
    generate(Lake(str(tmp_path / "b")), opts)
    generate(
        Lake(str(tmp_path / "c")), GenerateOptions(dt.date(2026, 1, 30), days=3, scale=200, seed=8)
    )
    a, b, c = (digest_tree(str(tmp_path / x)) for x in "abc")
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_anomalies_are_present_in_the_raw_files(tmp_path):
    lake = Lake(str(tmp_path))
    generate(lake, GenerateOptions(dt.date(2026, 1, 30), days=3, scale=500, anomaly_rate=0.05))
    lines = []
    for day in ("2026-01-30", "2026-01-31", "2026-02-01"):
        folder = lake.raw("notifications/attempted", dt.date.fromisoformat(day))
        for path in sorted(glob.glob(os.path.join(folder, "*.jsonl.gz"))):
            with gzip.open(path, "rt") as handle:
                lines += handle.read().splitlines()
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            parsed.append(None)
    records = [p for p in parsed if isinstance(p, dict)]
    ids = [r.get("notification_id") for r in records]
    assert parsed.count(None) > 0  # malformed lines
    assert len(ids) > len(set(ids))  # duplicates
    assert any(r.get("channel") not in ("sms", "email", "push", "voice") for r in records)
    late = [
        r
        for r in records
        if "attempted_at" in r
        and r["notification_id"].startswith("ntf-20260201")
        and r["attempted_at"][:10] < "2026-02-01"
        and not r["attempted_at"].endswith("+02:00")
    ]
    assert late  # late data: landed on 02-01, happened days before
