"""Shared fixtures: a local lake per test and one Spark session for the whole test run."""

from __future__ import annotations

import pytest

from orchestration.lake import Lake
from orchestration.settings import Settings


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
