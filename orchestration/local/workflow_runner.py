"""Runs a query-and-report workflow locally, state by state as its Step Functions rendering does:
check the payload → start the query → wait, poll, back off (until SUCCEEDED, FAILED or out of
attempts) → render the report → notify."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from orchestration.core.errors import InputError
from orchestration.core.lake import Lake
from orchestration.core.publishing import staging_dir_for, swap_in
from orchestration.local.notify import Notification, Notifier
from orchestration.local.query_engine import LocalQueryEngine, QueryStatus
from orchestration.outputs.reports import RENDERERS
from orchestration.workflows import QUERY_FAILED_STATES, QueryReportWorkflow, parse_payload


class WorkflowFailed(RuntimeError):
    """The workflow ended in a failure state; the message names it and says what to check."""


@dataclass(frozen=True)
class WorkflowResult:
    query_id: str
    waits: list[int]  # the back-off actually waited before each poll
    report: str  # the report's folder
    notification: str  # where the notification went


def poll(
    engine: LocalQueryEngine,
    query_id: str,
    workflow: QueryReportWorkflow,
    sleep: Callable[[float], None],
    console: Console,
) -> tuple[QueryStatus, list[int]]:
    """Wait, poll, back off, until the query ends; a failed or never-ending query is an error."""
    waited: list[int] = []
    status = QueryStatus("QUEUED")
    for attempt, wait in enumerate(workflow.poll.waits(), start=1):
        sleep(wait)
        waited.append(wait)
        status = engine.status(query_id)
        console.print(f"  … poll {attempt} after {wait}s: {status.state}")
        if status.state == "SUCCEEDED":
            return status, waited
        if status.state in QUERY_FAILED_STATES:
            raise WorkflowFailed(f"query {query_id} {status.state}: {status.reason}")
    raise WorkflowFailed(
        f"query {query_id} still {status.state} after {len(waited)} polls ({sum(waited)}s); "
        "it may be stuck: check the database, then run the workflow again"
    )


def write_report(folder: str, files: dict[str, str]) -> None:
    """All files or none: written aside, then swapped in for the previous version."""
    staging = staging_dir_for(folder)
    os.makedirs(staging)
    for name, text in files.items():
        with open(os.path.join(staging, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    swap_in(staging, folder)


def run_workflow(
    workflow: QueryReportWorkflow,
    payload: object,
    lake: Lake,
    notifier: Notifier,
    engine: LocalQueryEngine | None = None,
    sleep: Callable[[float], None] = time.sleep,
    console: Console | None = None,
) -> WorkflowResult:
    console = console or Console(stderr=True)
    request = parse_payload(payload)  # InputError: the one-line message for a bad payload
    if not lake.is_local:
        raise InputError(
            f"on AWS, {workflow.name} runs as its Step Functions state machine "
            "(see `analytics aws render`); the local runner needs a local LAKE_ROOT"
        )
    engine = engine or LocalQueryEngine(lake)
    start, end = request.start_date.isoformat(), request.end_date.isoformat()
    console.print(f"[bold]▶ {workflow.name}[/] startDate={start} endDate={end}")
    query_id = engine.start(workflow.sql, [start, end])
    console.print(f"  [cyan]…[/] query {query_id} started")
    status, waited = poll(engine, query_id, workflow, sleep, console)
    with open(status.output or "", encoding="utf-8") as handle:
        files = RENDERERS[workflow.render](handle.read(), request)
    folder = lake.report(workflow.exports, start, end)
    write_report(folder, files)
    console.print(f"  [green]✔[/] report written: {folder}")
    subject, message = workflow.notification(request, os.path.join(folder, "report.html"))
    sent = notifier.send(Notification(subject, message))
    console.print(f"  [green]✔[/] notification sent: {sent}")
    console.print(f"[bold green]✔ {workflow.name} {start} to {end} succeeded[/]")
    return WorkflowResult(query_id, waited, folder, sent)
