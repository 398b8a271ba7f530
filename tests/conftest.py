"""Shared fixtures: a local lake per test and one Spark session for the whole test run."""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings

# Every JVM of the tests (their sessions, the CLI's, the emulated account's spark-submits) runs
# the JIT's first tier only: their jobs are tiny, and the second tier's compiling was about a
# third of each cold JVM's CPU (docs/benchmarks.md). Production runs keep the JVM's default.
TEST_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m"
os.environ.setdefault("SPARK_JAVA_OPTIONS", TEST_JAVA_OPTIONS)

# The files that take a minute or more (docs/benchmarks.md) run first: `make test`'s two workers
# take the files in this order (--no-loadscope-reorder), the longest first, so that they finish
# together instead of one running the last long file alone. The other files keep their order.
LONGEST_FIRST = (
    "tests/aws/test_pipelines.py",
    "tests/integration/test_s3_lake.py",
    "tests/e2e/test_bench_smoke.py",
    "tests/hardening/test_s3_atomic_publish.py",
    "tests/e2e/test_ace_pipeline.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("LAKE_ROOT", str(tmp_path / "lake"))
    return Settings(LAKE_ROOT=str(tmp_path / "lake"))


@pytest.fixture
def lake(settings) -> Lake:
    return Lake.from_settings(settings)


@pytest.fixture(scope="session")
def spark():
    from spark_jobs.common.session import get_spark

    session = get_spark(Settings(SPARK_SHUFFLE_PARTITIONS=2))
    yield session


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The emulated account (DESIGN §8.1): a moto server on localhost, for what runs in another
    process (spark-submit, the CLI, dbt) and reaches it through AWS_ENDPOINT_URL. Tests share
    it; each creates the buckets and secrets it uses under names of its own."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://analytics:analytics@localhost:5432/analytics"
)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A reachable PostgreSQL: required in CI (ANALYTICS_REQUIRE_POSTGRES=1, set by .ci/run);
    skipped with a reason on a developer machine that has none (scripts/postgres-up.sh starts one)."""
    import psycopg

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as err:
        reason = f"no PostgreSQL at {POSTGRES_URL} ({str(err).strip().splitlines()[-1]})"
        if os.environ.get("ANALYTICS_REQUIRE_POSTGRES"):
            pytest.fail(reason + "; CI must start it (scripts/postgres-up.sh)")
        pytest.skip(reason + "; run scripts/postgres-up.sh")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """A connection URL whose default schema is a fresh, empty schema dropped after the test."""
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    yield f"{postgres_server}?options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"drop schema {schema} cascade")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium: required in CI (ANALYTICS_REQUIRE_BROWSER=1, set by .ci/run,
    which installs it); skipped with a reason on a developer machine without it."""
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "no chromium on PATH"
        if os.environ.get("ANALYTICS_REQUIRE_BROWSER"):
            pytest.fail(reason + "; CI must install it (apt-get install -y chromium)")
        pytest.skip(reason + "; apt-get install -y chromium")
    return found


@dataclass
class Synthesized:
    outdir: Path
    template_path: Path
    template: dict

    def resources(self, kind: str) -> dict[str, dict]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == kind}


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Held by one process at a time (the test workers of one run)."""
    with open(lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_wide(tmp_path_factory, worker_id: str) -> Path:
    """A folder every worker of this test run shares (pytest-xdist gives each worker a base
    folder of its own under a common one); a worker's own when the run has no workers."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory, worker_id) -> Synthesized:
    """The CDK app synthesized once per test run (jsii starts Node, the bundle packs the Spark
    environment: 14 s), with the code bundle it packages beside it: for the infra tests and
    the emulated account. The workers share it (the first to need it builds it; nothing
    changes it after)."""
    from infra.app import synth

    shared = _run_wide(tmp_path_factory, worker_id)
    root, built = shared / "infra", shared / "infra.template"
    with _exclusive(shared / "infra.lock"):
        if not built.exists():
            template = synth(str(root / "cdk.out"), str(root / "dist"))
            built.write_text(template)
    template_path = Path(built.read_text())
    return Synthesized(root / "cdk.out", template_path, json.loads(template_path.read_text()))
