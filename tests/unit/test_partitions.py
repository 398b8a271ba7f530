"""Removing a job's scratch folder (spark_jobs.common.partitions.remove): its emptied parents go
too, up to the lake root, but never a parent that still holds something."""

from __future__ import annotations

import pytest

from spark_jobs.common.partitions import remove

pytestmark = pytest.mark.spark


def test_remove_prunes_emptied_parents_up_to_the_root_only(spark, tmp_path):
    root = tmp_path / "lake"
    mine = root / "_scratch" / "table_a" / "dt=2026-01-01"
    other = root / "_scratch" / "table_b" / "dt=2026-01-01"
    for folder in (mine, other):
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"x")
    remove(spark, str(mine), up_to=str(root))
    # Its own table folder was left empty and went; _scratch still holds table_b and stays.
    assert not (root / "_scratch" / "table_a").exists()
    assert (other / "part-0.parquet").read_bytes() == b"x"
    remove(spark, str(other), up_to=str(root))
    assert not (root / "_scratch").exists()
    assert root.is_dir()  # the root itself is never removed


def test_remove_of_an_absent_folder_with_absent_parents_is_fine(spark, tmp_path):
    remove(spark, str(tmp_path / "lake" / "_scratch" / "t" / "dt=1"), up_to=str(tmp_path / "lake"))
    assert not (tmp_path / "lake").exists()
