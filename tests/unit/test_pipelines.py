"""The composition root loads and every declared task is runnable and acyclic."""

from __future__ import annotations

from graphlib import TopologicalSorter

from orchestration.pipelines import PIPELINES
from orchestration.tasks import TASKS


def test_every_pipeline_task_has_an_implementation_and_valid_dependencies():
    assert {"ace_daily", "ace_monthly"} <= set(PIPELINES)
    for pipeline in PIPELINES.values():
        names = {t.name for t in pipeline.tasks}
        for task in pipeline.tasks:
            assert task.run in TASKS, f"{pipeline.name}.{task.name} runs unknown {task.run}"
            assert set(task.depends_on) <= names
        list(TopologicalSorter(pipeline.graph()).static_order())  # raises on a cycle


def test_ace_daily_order_matches_design():
    graph = PIPELINES["ace_daily"].graph()
    spark_pair = {"notification_attempted_daily", "notification_delivered_daily"}
    assert graph["notification_attempted_daily"] == set() == graph["notification_delivered_daily"]
    assert graph["outcome_experience_lookup_daily"] == spark_pair == graph["dim_customer_daily"]
    assert graph["dbt_build_ace"] == {"outcome_experience_lookup_daily", "dim_customer_daily"}
    assert graph["register_partitions"] == {"dbt_build_ace"}
