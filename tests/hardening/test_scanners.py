"""The security scanners the project holds itself to (also in `make lint`, so CI runs them):
bandit reports nothing of medium severity or more in the Python packages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BANDIT = str(Path(sys.executable).with_name("bandit"))


def test_bandit_finds_nothing_of_medium_severity_or_more():
    done = subprocess.run(
        [BANDIT, "-q", "-r", "orchestration", "spark_jobs", "ingestion", "infra", "-f", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stdout)
    serious = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] in ("MEDIUM", "HIGH")
    ]
    assert serious == []
    assert report["metrics"]["_totals"]["loc"] > 5000  # it did read the packages
