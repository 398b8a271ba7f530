"""Secrets and PII: no credential in the repository; a real run (custom PII_SALT, a password in
the warehouse URL) writes neither the salt nor the password to its logs, outputs or console; an
unreachable warehouse is reported without its password."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-05-04"

# What a leaked credential looks like in a source file.
CREDENTIALS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_secret_access_key\W{1,4}[A-Za-z0-9/+]{40}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s/'\"]+)@"),
    "password assignment": re.compile(
        r"(?i)\b(?:password|passwd|pwd|secret_key|api_key|token)\s*[=:]\s*['\"]([^'\"\s]{8,})['\"]"
    ),
}
# The documented local development role (scripts/postgres-up.sh) and deliberate test values.
ALLOWED_SECRETS = {"analytics", "***", r"\*\*\*", "secret", "password", "{password}"}


def test_no_credential_is_committed():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [f for f in files if Path(f).name in (".env", "credentials", ".pgpass")]
    leaks = []
    for name in files:
        if name.endswith(".lock"):  # package hashes, not secrets
            continue
        text = (ROOT / name).read_text(encoding="utf-8", errors="ignore")
        for kind, pattern in CREDENTIALS.items():
            for match in pattern.finditer(text):
                secret = match.group(1) if pattern.groups else match.group(0)
                if secret not in ALLOWED_SECRETS:
                    leaks.append(f"{name}: {kind}: {match.group(0)[:60]}")
    assert leaks == []


def test_the_scan_finds_what_it_looks_for():
    """The patterns above are not vacuous: each catches a planted example."""
    # Assembled here, so that this file itself holds none of them.
    planted = {
        "AWS access key id": "key = AKIA" + "ABCDEFGHIJKLMNOP",
        "AWS secret access key": "aws_secret_access_key = " + "a1B2" * 10,
        "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
        "password in a URL": "postgresql://admin:" + "hunter22@db:5432/x",
        "password assignment": "password = " + '"correct-horse-battery"',
    }
    for kind, text in planted.items():
        assert CREDENTIALS[kind].search(text), kind


def analytics(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    merged = {**os.environ, **env}
    merged.pop("ANALYTICS_DEBUG", None)  # tracebacks are opt-in; the test sees what users see
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=merged,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.spark
def test_runs_write_no_salt_and_no_password_anywhere(tmp_path, postgres_url):
    root = str(tmp_path / "lake")
    salt = f"salt-{uuid.uuid4().hex}"
    env = {"LAKE_ROOT": root, "PII_SALT": salt, "WAREHOUSE_URL": postgres_url}
    runs = [
        analytics(env, "generate", "--start", DAY, "--days", "1", "--scale", "300"),
        analytics(env, "load", *glob.glob(f"{root}/incoming/customers/*.csv")),
        analytics(env, "run", "ace_daily", "--date", DAY),
    ]
    for done in runs:
        assert done.returncode == 0, done.stderr[-2000:]
    password = f"pw-{uuid.uuid4().hex}"
    unreachable = {**env, "WAREHOUSE_URL": f"postgresql://loader:{password}@127.0.0.1:1/none"}
    failed = analytics(unreachable, "load", *glob.glob(f"{root}/incoming/customers/*.csv"))
    assert failed.returncode == 2 and "cannot connect" in failed.stderr
    assert "loader:***@127.0.0.1" in failed.stderr  # says where, not with what
    runs.append(failed)

    secrets = [salt, password, ":analytics@"]  # the last: the test server's password in a URL
    console = "".join(done.stdout + done.stderr for done in runs)
    assert [s for s in secrets if s in console] == []
    written = [
        p
        for p in glob.glob(f"{root}/**/*", recursive=True)
        if os.path.isfile(p) and not p.startswith((f"{root}/raw/", f"{root}/incoming/"))
    ]
    assert any("/_runs/logs/" in p for p in written) and any("/_dbt/logs/" in p for p in written)
    leaks = [(p, s) for p in written for s in secrets if s.encode() in Path(p).read_bytes()]
    assert leaks == []
