"""The composition root loads and every declared task is runnable and acyclic."""

from __future__ import annotations

from graphlib import TopologicalSorter

import pytest

from orchestration import tasks
from orchestration.pipelines import PIPELINES


def test_every_pipeline_task_has_an_implementation_and_valid_dependencies():
    assert {"ace_daily", "ace_monthly"} <= set(PIPELINES)
    for pipeline in PIPELINES.values():
        names = {t.name for t in pipeline.tasks}
        for task in pipeline.tasks:
            # A task runs a function of orchestration.tasks, and is named after it.
            assert getattr(tasks, task.name) is task.run, f"{pipeline.name}.{task.name}"
            assert set(task.depends_on) <= names
        list(TopologicalSorter(pipeline.graph()).static_order())  # raises on a cycle


def test_ace_daily_order_matches_design():
    graph = PIPELINES["ace_daily"].graph()
    spark_pair = {"notification_attempted_daily", "notification_delivered_daily"}
    assert graph["notification_attempted_daily"] == set() == graph["notification_delivered_daily"]
    assert graph["outcome_experience_lookup_daily"] == spark_pair == graph["dim_customer_daily"]
    assert graph["dbt_build_ace"] == {"outcome_experience_lookup_daily", "dim_customer_daily"}
    assert graph["register_partitions"] == {"dbt_build_ace"}


def test_a_sharded_task_runs_as_one_task_per_shard_and_its_dependents_wait_for_all():
    from orchestration.core.shards import Shard
    from orchestration.pipelines import SOCIAL_DAILY

    declared = SOCIAL_DAILY.task("social_analytics").shards
    assert declared == 2
    graph = SOCIAL_DAILY.sharded().graph()
    assert graph == {
        "social_curation_daily": set(),
        "social_analytics@1-of-2": {"social_curation_daily"},
        "social_analytics@2-of-2": {"social_curation_daily"},
        "dbt_build_social": {"social_analytics@1-of-2", "social_analytics@2-of-2"},
    }
    # NUM_SHARDS overrides the declared count.
    three = SOCIAL_DAILY.sharded(3)
    assert [t.shard for t in three.tasks if t.shard] == [Shard(1, 3), Shard(2, 3), Shard(3, 3)]
    # An AWS Batch job told CURRENT_SHARD=2 of NUM_SHARDS=3 runs only that shard.
    one = SOCIAL_DAILY.only("social_analytics").sharded(3, Shard(2, 3))
    assert [(t.name, t.shard) for t in one.tasks] == [("social_analytics@2-of-3", Shard(2, 3))]
    # Unsharded tasks are untouched.
    unsharded = SOCIAL_DAILY.task("dbt_build_social")
    assert three.task("dbt_build_social").run == unsharded.run
    assert SOCIAL_DAILY.sharded().task("social_curation_daily") == SOCIAL_DAILY.tasks[0]


def test_shards_own_every_id_once():
    from orchestration.core.shards import IdRange, Shard

    for total in (1, 2, 3, 7):
        owners = [[s.current for s in Shard.all_of(total) if s.owns(i)] for i in range(50)]
        assert all(len(o) == 1 for o in owners)

    # DESIGN §5.2: id 10 of 3 shards is in shard 10 % 3 + 1 = 2.
    assert Shard(2, 3).owns(10) and not Shard(1, 3).owns(10)
    with pytest.raises(ValueError, match="CURRENT_SHARD 4 does not exist"):
        Shard(4, 3)
    with pytest.raises(ValueError, match="empty"):
        IdRange(5, 4)
    assert IdRange(None, 5).contains(0) and not IdRange(3).contains(2)


def test_the_social_job_takes_its_settings_from_flags_or_the_environment(monkeypatch, capsys):
    from orchestration.core.shards import IdRange, Shard
    from spark_jobs.social_analytics import parse_args

    argv = ["--date", "2026-11-03", "--num-shards", "3", "--current-shard", "2"]
    settings, as_of = parse_args([*argv, "--event-id-start", "100"])
    assert (settings.shard, settings.event_ids, as_of.isoformat()) == (
        Shard(2, 3),
        IdRange(100, None),
        "2026-11-03",
    )
    monkeypatch.setenv("NUM_SHARDS", "4")
    monkeypatch.setenv("CURRENT_SHARD", "4")
    monkeypatch.setenv("BRAND_ID_END", "9")
    settings, _ = parse_args(["--date", "2026-11-03"])
    assert (settings.shard, settings.brand_ids) == (Shard(4, 4), IdRange(None, 9))
    settings, _ = parse_args([*argv])  # the flags win over the environment
    assert settings.shard == Shard(2, 3)
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--date", "2026-11-03", "--num-shards", "2", "--current-shard", "3"])
    assert exit_info.value.code == 2
    assert "CURRENT_SHARD 3 does not exist: shards are 1..2" in capsys.readouterr().err
