"""The monthly usage workflow run locally: a hand-written usage_views table in a real DuckDB
database → query (polled with back-off) → CSV + HTML report → outbox e-mail, checked against
hand-worked counts; and every way it can fail."""

from __future__ import annotations

import csv
import email
import email.policy
import glob
import io
import os
import re
import time
from dataclasses import replace

import duckdb
import pytest
from click.testing import CliRunner
from rich.console import Console

from orchestration.cli import cli
from orchestration.core.errors import InputError
from orchestration.core.lake import Lake
from orchestration.local.notify import OutboxNotifier
from orchestration.local.query_engine import QueryStatus
from orchestration.local.workflow_runner import WorkflowFailed, run_workflow
from orchestration.outputs.reports import nice_ceiling, render_usage_report
from orchestration.workflows import USAGE_MONTHLY_REPORT, Backoff, DateRange

# (event_id, user_id, format, event_date)
VIEWS = [
    ("e1", "u1", "video", "2026-10-01"),
    ("e2", "u1", "video", "2026-10-01"),
    ("e3", "u2", "video", "2026-10-01"),
    ("e4", "u2", "audio", "2026-10-02"),
    ("e5", "u1", "video", "2026-10-03"),
    ("e6", "u3", "ebook", "2026-09-30"),  # before the range
    ("e7", "u3", "video", "2026-11-01"),  # after it
]
PAYLOAD = {"startDate": "2026-10-01", "endDate": "2026-10-03"}
# Worked by hand from VIEWS over 1-3 October: every day x format, zeros included.
EXPECTED_DAILY = [
    ["date", "format", "views", "unique_users"],
    ["2026-10-01", "audio", "0", "0"],
    ["2026-10-01", "video", "3", "2"],
    ["2026-10-02", "audio", "1", "1"],
    ["2026-10-02", "video", "0", "0"],
    ["2026-10-03", "audio", "0", "0"],
    ["2026-10-03", "video", "1", "1"],
]
EXPECTED_TOTALS = [["format", "views", "unique_users"], ["video", "4", "2"], ["audio", "1", "1"]]


def quiet() -> Console:
    return Console(file=io.StringIO())


def build_usage_views(root: str) -> Lake:
    lake = Lake(root)
    os.makedirs(root, exist_ok=True)
    with duckdb.connect(lake.analytics_db) as con:
        con.execute(
            "create table usage_views (event_id varchar, user_id varchar, format varchar, "
            "viewed_at timestamp, event_date date, usage_month date)"
        )
        for event_id, user, fmt, day in VIEWS:
            con.execute(
                "insert into usage_views values (?, ?, ?, cast(? as timestamp), cast(? as date), "
                "date_trunc('month', cast(? as date)))",
                [event_id, user, fmt, f"{day} 12:00:00", day, day],
            )
    return lake


def read_csv(path: str) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_workflow_writes_the_report_and_an_outbox_email(tmp_path):
    lake = build_usage_views(str(tmp_path / "lake"))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(0.05)

    result = run_workflow(
        USAGE_MONTHLY_REPORT, PAYLOAD, lake, OutboxNotifier(lake.outbox), sleep=sleep,
        console=quiet(),
    )  # fmt: skip
    folder = os.path.join(lake.root, "exports", "usage", "2026-10-01_2026-10-03")
    assert result.report == folder
    assert read_csv(os.path.join(folder, "daily_views.csv")) == EXPECTED_DAILY
    assert read_csv(os.path.join(folder, "format_totals.csv")) == EXPECTED_TOTALS
    # The back-off: 2 s, then doubling, as many polls as the query needed.
    assert slept == [2, 4, 8, 16, 32, 60, 60, 60][: len(slept)] and slept == result.waits
    with open(os.path.join(folder, "report.html"), encoding="utf-8") as handle:
        html = handle.read()
    assert len(re.findall(r'<polyline class="series" data-format="(\w+)"', html)) == 2
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    [sent] = glob.glob(os.path.join(lake.outbox, "*.eml"))
    assert result.notification == sent
    with open(sent, "rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    assert message["Subject"] == "Usage report 2026-10-01 to 2026-10-03"
    assert os.path.join(folder, "report.html") in message.get_content()


def test_a_rerun_replaces_the_report(tmp_path):
    lake = build_usage_views(str(tmp_path / "lake"))
    folder = os.path.join(lake.root, "exports", "usage", "2026-10-01_2026-10-03")
    os.makedirs(folder)
    open(os.path.join(folder, "stale.csv"), "w").close()
    notifier = OutboxNotifier(lake.outbox)
    for _ in range(2):
        run_workflow(
            USAGE_MONTHLY_REPORT, PAYLOAD, lake, notifier, sleep=time.sleep, console=quiet()
        )
    assert sorted(os.listdir(folder)) == ["daily_views.csv", "format_totals.csv", "report.html"]
    assert read_csv(os.path.join(folder, "format_totals.csv")) == EXPECTED_TOTALS


def test_a_failed_query_fails_the_workflow_with_its_reason_and_sends_nothing(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    os.makedirs(lake.root)
    duckdb.connect(lake.analytics_db).close()  # a database without the usage models
    with pytest.raises(WorkflowFailed, match=r"FAILED: CatalogException: .*usage_views"):
        run_workflow(
            USAGE_MONTHLY_REPORT, PAYLOAD, lake, OutboxNotifier(lake.outbox),
            sleep=lambda s: time.sleep(0.05), console=quiet(),
        )  # fmt: skip
    assert not os.path.exists(lake.exports("usage"))
    assert not os.path.exists(lake.outbox)


class NeverFinishes:
    """A query engine whose query stays RUNNING (a stuck query)."""

    def start(self, sql: str, parameters: list[str]) -> str:
        return "q-1"

    def status(self, query_id: str) -> QueryStatus:
        return QueryStatus("RUNNING")


def test_a_query_that_never_finishes_times_out_after_max_attempts(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    slept: list[float] = []
    workflow = replace(
        USAGE_MONTHLY_REPORT, poll=Backoff(first_seconds=1, max_seconds=5, max_attempts=5)
    )
    # 1 + 2 + 4 + 5 + 5 seconds
    with pytest.raises(WorkflowFailed, match=r"still RUNNING after 5 polls \(17s\)"):
        run_workflow(
            workflow, PAYLOAD, lake, OutboxNotifier(lake.outbox), engine=NeverFinishes(),
            sleep=slept.append, console=quiet(),
        )  # fmt: skip
    assert slept == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"startDate": "2026-10-31", "endDate": "2026-10-01"}, "is after endDate"),
        ({"startDate": "2026-02-30", "endDate": "2026-03-01"}, "startDate"),
        ({"startDate": "2026-10-01"}, "endDate: Field required"),
        ({**PAYLOAD, "format": "video"}, "format: Extra inputs are not permitted"),
        ({"startDate": "2025-01-01", "endDate": "2026-10-01"}, "longer than a year"),
        (["2026-10-01", "2026-10-31"], "must be a JSON object"),
    ],
)
def test_bad_payloads_are_refused_before_any_query(tmp_path, payload, message):
    lake = Lake(str(tmp_path / "lake"))
    with pytest.raises(InputError, match=message):
        run_workflow(
            USAGE_MONTHLY_REPORT, payload, lake, OutboxNotifier(lake.outbox),
            engine=NeverFinishes(), sleep=lambda s: None, console=quiet(),
        )  # fmt: skip


def test_cli_runs_the_workflow_for_a_month_and_reports_bad_input_in_one_line(tmp_path, monkeypatch):
    lake = build_usage_views(str(tmp_path / "lake"))
    monkeypatch.setenv("LAKE_ROOT", lake.root)
    from orchestration.core.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    done = runner.invoke(cli, ["workflow", "usage_monthly_report", "--month", "2026-10"])
    assert done.exit_code == 0, done.output
    folder = os.path.join(lake.root, "exports", "usage", "2026-10-01_2026-10-31")
    totals = read_csv(os.path.join(folder, "format_totals.csv"))
    assert totals == EXPECTED_TOTALS  # e6 (September) and e7 (November) are outside
    assert len(read_csv(os.path.join(folder, "daily_views.csv"))) == 1 + 31 * 2
    for args, text in [
        (["--payload", "{not json"], "--payload is not JSON"),
        (["--month", "2026-13"], "not a valid month"),
        ([], "give either --payload or --month"),
    ]:
        done = runner.invoke(cli, ["workflow", "usage_monthly_report", *args])
        assert done.exit_code == 2 and text in done.output, done.output
    done = runner.invoke(cli, ["workflow", "nope", "--month", "2026-10"])
    assert done.exit_code == 2 and "known: usage_monthly_report" in done.output
    get_settings.cache_clear()


def test_report_of_a_range_without_events_has_zeros_and_no_chart():
    files = render_usage_report(
        "event_date,format,views,unique_users\n", DateRange.month("2026-02")
    )
    assert files["daily_views.csv"] == "date,format,views,unique_users\n"
    assert 'id="no-data"' in files["report.html"] and "<polyline" not in files["report.html"]


def test_back_off_and_chart_scale_by_hand():
    assert Backoff(2, 60, 8).waits() == [2, 4, 8, 16, 32, 60, 60, 60]
    assert Backoff(3, 3, 2).waits() == [3, 3]
    with pytest.raises(ValueError):
        Backoff(5, 2, 3)
    assert [nice_ceiling(v) for v in (0, 1, 3, 10, 11, 240, 501)] == [1, 1, 5, 10, 20, 500, 1000]
    assert DateRange.month("2024-02").payload() == {
        "startDate": "2024-02-01",
        "endDate": "2024-02-29",
    }
