"""The security scanners the project holds itself to (also in `make lint` / `make synth`, so CI
runs them): bandit reports nothing of medium severity or more in the Python packages, and checkov
no failed check on the synthesized CloudFormation template (DESIGN §8); a check that does not
apply is skipped in the resource's metadata, with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BANDIT = str(Path(sys.executable).with_name("bandit"))
# checkov has an environment of its own (scripts/scanners.in), made by `make setup`.
CHECKOV = Path(sys.executable).parents[1] / "scanners" / "bin" / "checkov"
# The skips the stack declares, by check and resource kind / name (infra/stack.py says why).
FUNCTIONS = (
    "LaunchEmr",
    "OnObjectCreated",
    "RenderUsageReport",
    "StartWorkflow",
    "SubmitBatchJobs",
    "TransformUsageEvents",
)
EXPECTED_SKIPS = {
    *(("CKV_AWS_117", f"AWS::Lambda::Function.Fn{f}") for f in FUNCTIONS),  # no VPC needed
    # invoked synchronously: no dead-letter queue
    ("CKV_AWS_116", "AWS::Lambda::Function.FnRenderUsageReport"),
    ("CKV_AWS_116", "AWS::Lambda::Function.FnTransformUsageEvents"),
    ("CKV_AWS_18", "AWS::S3::Bucket.Logs"),  # the access-log bucket itself
    ("CKV_AWS_21", "AWS::S3::Bucket.AthenaResults"),  # query output, written again on demand
}


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


def test_checkov_fails_no_check_on_the_template_and_says_why_it_skips_one(synthesized):
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make setup`"
    done = subprocess.run(
        [
            str(CHECKOV),
            # No download of Prisma Cloud's guidelines (no internet here; the checks are local).
            "--skip-download",
            "--framework",
            "cloudformation",
            "-f",
            str(synthesized.template_path),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(done.stdout)
    results = report["results"]
    assert [f"{f['check_id']} {f['resource']}" for f in results["failed_checks"]] == []
    assert report["summary"]["passed"] > 300  # it did check the template's resources
    skipped = {
        # CDK's logical ids end in a hash: the construct's name is enough here.
        (s["check_id"], s["resource"].rstrip("0123456789ABCDEF"))
        for s in results["skipped_checks"]
    }
    assert skipped == EXPECTED_SKIPS
    reasons = [s["check_result"].get("suppress_comment", "") for s in results["skipped_checks"]]
    assert all(len(r) > 40 for r in reasons), reasons
