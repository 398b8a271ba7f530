"""The Batch jobs' image (Dockerfile). There is no Docker engine here, so the image is not built:
hadolint lints the Dockerfile, and its build stage's install step (the same script as `make
setup`) is run here into a fresh environment, with the image's lock and a copy of the dbt
project, to show that what the image installs runs the tasks' CLI and finds that project. What
this cannot show: the image's Debian packages and the Java runtime inside it, and ECS pulling
the image (IAM and ECR are checked on the template, test_stack)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def _pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_hadolint_finds_nothing():
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", "Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The one rule ignored is explained where it is ignored.
    ignores = re.findall(r"# hadolint ignore=(\S+)", DOCKERFILE)
    assert ignores == ["DL3008", "DL3008"]  # the Java development kit, the Java runtime
    for before in DOCKERFILE.split("# hadolint ignore=DL3008")[:-1]:
        assert "DL3008" in before.splitlines()[-1]


def test_the_image_is_multi_stage_slim_non_root_and_runs_analytics():
    stages = re.findall(r"^FROM (\S+) AS (\w+)", DOCKERFILE, re.M)
    assert stages == [("python:3.11-slim", "build"), ("python:3.11-slim", "runtime")]
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert re.search(r'^ENTRYPOINT \["analytics"\]', DOCKERFILE, re.M)
    assert "DBT_PROJECT_DIR=/opt/analytics/dbt_project" in DOCKERFILE
    assert "COPY --from=build /src/dbt_project /opt/analytics/dbt_project" in DOCKERFILE


def test_the_image_and_make_setup_run_the_same_install_script():
    assert "RUN scripts/install.sh /opt/venv requirements-image.lock package" in DOCKERFILE
    makefile = (REPO / "Makefile").read_text()
    assert "scripts/install.sh $(VENV) requirements.lock editable" in makefile


def test_the_image_lock_pins_what_the_development_lock_pins():
    """The image installs the runtime extras at the versions the tests ran."""
    image, development = _pins(REPO / "requirements-image.lock"), _pins(REPO / "requirements.lock")
    assert {"pyspark", "dbt-athena-community", "dbt-core", "boto3"} <= set(image)
    assert "pytest" not in image and "moto" not in image
    assert {
        name: version for name, version in image.items() if development.get(name) != version
    } == {}


@pytest.mark.timeout(600)
def test_the_install_step_gives_a_cli_that_finds_the_copied_dbt_project(tmp_path):
    """The build stage's command, run here: a normal (not editable) install from a copy of the
    files the Dockerfile copies, then the CLI and dbt's parse of the project at DBT_PROJECT_DIR."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "requirements-image.lock", "README.md"):
        shutil.copy(REPO / name, source / name)
    for folder in ("orchestration", "spark_jobs", "ingestion", "infra", "scripts", "dbt_project"):
        shutil.copytree(
            REPO / folder,
            source / folder,
            ignore=shutil.ignore_patterns("__pycache__", "target", "logs"),
        )
    venv = tmp_path / "venv"
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(
        ["scripts/install.sh", str(venv), "requirements-image.lock", "package"],
        cwd=source,
        env=env,
        check=True,
        capture_output=True,
    )
    # Installed, not linked to the checkout: the code runs without the sources.
    shutil.rmtree(source / "orchestration")
    shutil.rmtree(source / "spark_jobs")
    # The build stage's next command compiles the jobs' Java functions from the installed
    # package into the image's jar cache; a session there finds that jar without a compiler.
    [build_jar] = re.findall(r'&& /opt/venv/bin/python -c "(.*?)"', DOCKERFILE, re.S)
    cache = tmp_path / "ivy"
    build_jar = build_jar.replace("\\\n", "").replace("/opt/ivy", str(cache))
    built = subprocess.run(
        [str(venv / "bin" / "python"), "-c", build_jar],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    jar = Path(built.stdout.strip())
    assert jar.parent == cache and jar.is_file()
    no_compiler = {**env, "PATH": "/usr/bin/false-only", "JAVA_HOME": str(tmp_path)}
    found = (
        "from pathlib import Path; from orchestration.core.jars import cached_functions_jar; "
        f"print(cached_functions_jar(Path({str(cache)!r})))"
    )
    again = subprocess.run(
        [str(venv / "bin" / "python"), "-c", found],
        cwd=tmp_path, env=no_compiler, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert again.stdout.strip() == str(jar)
    project = tmp_path / "opt" / "dbt_project"
    shutil.move(source / "dbt_project", project)
    probe = (
        "from orchestration.core.settings import Settings; "
        "from orchestration.local.dbt import project_dir; print(project_dir(Settings()))"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe],
        cwd=tmp_path,
        env={**env, "DBT_PROJECT_DIR": str(project)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == str(project)
    parse = subprocess.run(
        [
            str(venv / "bin" / "dbt"),
            "parse",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target",
            "athena",
        ],  # fmt: skip
        cwd=tmp_path,
        env={**env, "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert parse.returncode == 0, parse.stdout[-2000:]
    help_text = subprocess.run(
        [str(venv / "bin" / "analytics"), "run", "--help"], capture_output=True, text=True
    )
    assert help_text.returncode == 0 and "--task" in help_text.stdout
