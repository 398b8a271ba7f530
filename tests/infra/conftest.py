"""The CDK app synthesized once for the infra tests (jsii starts Node: a few seconds)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Synthesized:
    outdir: Path
    template_path: Path
    template: dict

    def resources(self, kind: str) -> dict[str, dict]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Synthesized:
    from infra.app import synth

    root = tmp_path_factory.mktemp("infra")
    template_path = Path(synth(str(root / "cdk.out"), str(root / "dist")))
    return Synthesized(root / "cdk.out", template_path, json.loads(template_path.read_text()))
