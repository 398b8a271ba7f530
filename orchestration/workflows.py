"""Query-and-report workflows (DESIGN §5.4), declared once: start a query, poll it with back-off
until it succeeds, fails or times out, render a report from its result, notify. The local
workflow runner executes a declaration; the AWS renderer turns the same declaration into a Step
Functions state machine (Choice / Task / Wait / Fail)."""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from orchestration.core.errors import InputError

SQL_DIR = Path(__file__).parent / "sql"
QUERY_FAILED_STATES = ("FAILED", "CANCELLED")
PAYLOAD_FIELDS = ("startDate", "endDate")
MESSAGE_FIELDS = (*PAYLOAD_FIELDS, "report")


class DateRange(BaseModel):
    """The payload `{"startDate": "YYYY-MM-DD", "endDate": "YYYY-MM-DD"}` (both days included)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start_date: dt.date = Field(alias="startDate")
    end_date: dt.date = Field(alias="endDate")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start_date > self.end_date:
            raise ValueError(f"startDate {self.start_date} is after endDate {self.end_date}")
        if (self.end_date - self.start_date).days > 366:
            raise ValueError("the range is longer than a year; split it")
        return self

    @classmethod
    def month(cls, month: str) -> DateRange:
        """The calendar month YYYY-MM."""
        first = dt.datetime.strptime(month, "%Y-%m").date()
        following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return cls(startDate=first, endDate=following - dt.timedelta(days=1))

    def payload(self) -> dict[str, str]:
        return {"startDate": self.start_date.isoformat(), "endDate": self.end_date.isoformat()}

    def days(self) -> list[dt.date]:
        count = (self.end_date - self.start_date).days + 1
        return [self.start_date + dt.timedelta(days=i) for i in range(count)]


def parse_payload(payload: object) -> DateRange:
    """The workflow's input, checked; a bad payload is an InputError naming the field."""
    if not isinstance(payload, dict):
        raise InputError('the payload must be a JSON object {"startDate": ..., "endDate": ...}')
    try:
        return DateRange.model_validate(payload)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise InputError(f"invalid payload {where}: {first['msg']}") from None


@dataclass(frozen=True)
class Backoff:
    """Poll after `first_seconds`, doubling the wait each time up to `max_seconds`; give up
    after `max_attempts` polls."""

    first_seconds: int = 2
    max_seconds: int = 60
    max_attempts: int = 20

    def __post_init__(self) -> None:
        if not (1 <= self.first_seconds <= self.max_seconds) or self.max_attempts < 1:
            raise ValueError("back-off needs 1 <= first_seconds <= max_seconds, max_attempts >= 1")

    def waits(self) -> list[int]:
        """The wait before each poll."""
        waits, wait = [], self.first_seconds
        for _ in range(self.max_attempts):
            waits.append(wait)
            wait = min(wait * 2, self.max_seconds)
        return waits


@dataclass(frozen=True)
class QueryReportWorkflow:
    name: str
    description: str
    query: str  # SQL file under orchestration/sql/; `?` placeholders take startDate, endDate
    render: (
        str  # report renderer (orchestration.outputs.reports); on AWS the Lambda of the same name
    )
    exports: str  # the report's folder: exports/<exports>/<startDate>_<endDate>/
    # Notification templates over the payload's fields; the message may also name {report}, the
    # URI of the report's HTML page.
    subject: str
    message: str
    poll: Backoff = Backoff()
    # EventBridge cron; each scheduled run reports on the previous calendar month.
    schedule: str | None = None

    def __post_init__(self) -> None:
        for template, allowed in ((self.subject, PAYLOAD_FIELDS), (self.message, MESSAGE_FIELDS)):
            unknown = set(template_fields(template)) - set(allowed)
            if unknown:
                raise ValueError(f"workflow {self.name}: unknown template fields {sorted(unknown)}")

    @property
    def sql(self) -> str:
        return (SQL_DIR / self.query).read_text(encoding="utf-8")

    def notification(self, request: DateRange, report: str) -> tuple[str, str]:
        """(subject, message) for the report of `request` at `report`."""
        fields = request.payload()
        return self.subject.format(**fields), self.message.format(**fields, report=report)


def template_fields(template: str) -> list[str]:
    """The `{field}`s of a template, in order."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


USAGE_MONTHLY_REPORT = QueryReportWorkflow(
    name="usage_monthly_report",
    description="Usage report (§5.4): views and unique users per format, daily trend, for a range.",
    query="usage_report.sql",
    render="render_usage_report",
    exports="usage",
    subject="Usage report {startDate} to {endDate}",
    message=(
        "The usage report for {startDate} to {endDate} is ready: {report} "
        "(daily_views.csv and format_totals.csv are in the same folder)."
    ),
    schedule="cron(0 8 1 * ? *)",  # 08:00 UTC on the 1st, as seed 003 ran it
)

WORKFLOWS: dict[str, QueryReportWorkflow] = {w.name: w for w in (USAGE_MONTHLY_REPORT,)}
