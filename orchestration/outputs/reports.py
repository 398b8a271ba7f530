"""The usage report (DESIGN §5.4): from the usage query's CSV result to two CSV files and one
static HTML page with an inline SVG chart of daily views per format (no external assets, so it
opens offline and in an e-mail client). Pure: text in, files' text out; callers do the I/O."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass

from jinja2 import Environment

from orchestration.core.errors import InputError
from orchestration.workflows import DateRange

RESULT_COLUMNS = ["event_date", "format", "views", "unique_users"]
# Colour-blind-safe palette (Okabe-Ito); formats beyond it reuse it in order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")


@dataclass(frozen=True)
class UsageRow:
    format: str
    views: int
    unique_users: int


@dataclass(frozen=True)
class UsageResult:
    daily: dict[tuple[dt.date, str], UsageRow]
    totals: list[UsageRow]  # per format over the range, most viewed first

    @property
    def formats(self) -> list[str]:
        return [row.format for row in self.totals]


def parse_result(text: str) -> UsageResult:
    """The query's CSV (header event_date, format, views, unique_users; an empty event_date is a
    total over the range)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != RESULT_COLUMNS:
        raise InputError(
            f"the usage query result has columns {reader.fieldnames}, not {RESULT_COLUMNS}"
        )
    daily: dict[tuple[dt.date, str], UsageRow] = {}
    totals: list[UsageRow] = []
    for line, record in enumerate(reader, start=2):
        try:
            row = UsageRow(record["format"], int(record["views"]), int(record["unique_users"]))
            if record["event_date"]:
                daily[(dt.date.fromisoformat(record["event_date"]), row.format)] = row
            else:
                totals.append(row)
        except (TypeError, ValueError):
            raise InputError(
                f"the usage query result has a bad row at line {line}: {record}"
            ) from None
    totals.sort(key=lambda r: (-r.views, r.format))
    return UsageResult(daily, totals)


def daily_views_csv(result: UsageResult, request: DateRange) -> str:
    """One row per day of the range and format; a day without views is a 0, not a gap."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "format", "views", "unique_users"])
    for day in request.days():
        for fmt in sorted(result.formats):
            row = result.daily.get((day, fmt), UsageRow(fmt, 0, 0))
            writer.writerow([day.isoformat(), fmt, row.views, row.unique_users])
    return out.getvalue()


def format_totals_csv(result: UsageResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["format", "views", "unique_users"])
    for row in result.totals:
        writer.writerow([row.format, row.views, row.unique_users])
    return out.getvalue()


@dataclass(frozen=True)
class Series:
    format: str
    colour: str
    points: str  # SVG polyline points


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    series: list[Series]
    y_ticks: list[tuple[float, int]]  # (y, value)
    x_ticks: list[tuple[float, str]]  # (x, label)


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 x 10^k at or above `value` (at least 1): the chart's y maximum."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(s * magnitude for s in (1, 2, 5, 10) if s * magnitude >= value)


def chart(result: UsageResult, request: DateRange, width: int = 760, height: int = 340) -> Chart:
    left, right, top, bottom = 56, 16, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    days = request.days()
    peak = nice_ceiling(max((r.views for r in result.daily.values()), default=0))

    def x(i: int) -> float:
        return left + (plot_w * i / (len(days) - 1) if len(days) > 1 else plot_w / 2)

    def y(value: int) -> float:
        return top + plot_h - plot_h * value / peak

    series = []
    for n, fmt in enumerate(result.formats):
        views = [result.daily.get((d, fmt), UsageRow(fmt, 0, 0)).views for d in days]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(views))
        series.append(Series(fmt, PALETTE[n % len(PALETTE)], points))
    y_ticks = [(y(peak * k // 4), peak * k // 4) for k in range(5)]
    step = max(1, math.ceil(len(days) / 8))
    x_ticks = [(x(i), days[i].strftime("%d %b")) for i in range(0, len(days), step)]
    return Chart(width, height, left, top, plot_w, plot_h, series, y_ticks, x_ticks)


_HTML = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Usage report {{ start }} to {{ end }}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px; }
</style>
</head>
<body>
<h1>Usage report</h1>
<p>From {{ start }} to {{ end }} (UTC days, both included): {{ "{:,}".format(views) }} views.</p>
<h2>Daily views per format</h2>
{% if chart.series %}
<svg id="daily-views" xmlns="http://www.w3.org/2000/svg" width="{{ chart.width }}" height="{{ chart.height }}" viewBox="0 0 {{ chart.width }} {{ chart.height }}" role="img" aria-label="Daily views per format">
<rect x="0" y="0" width="{{ chart.width }}" height="{{ chart.height }}" fill="#ffffff"/>
{% for y, value in chart.y_ticks %}
<line x1="{{ chart.left }}" x2="{{ chart.left + chart.plot_width }}" y1="{{ '%.1f' % y }}" y2="{{ '%.1f' % y }}" stroke="#e5e5e5"/>
<text x="{{ chart.left - 6 }}" y="{{ '%.1f' % (y + 4) }}" font-size="11" text-anchor="end">{{ value }}</text>
{% endfor %}
{% for x, label in chart.x_ticks %}
<text x="{{ '%.1f' % x }}" y="{{ chart.top + chart.plot_height + 18 }}" font-size="11" text-anchor="middle">{{ label }}</text>
{% endfor %}
<line x1="{{ chart.left }}" x2="{{ chart.left }}" y1="{{ chart.top }}" y2="{{ chart.top + chart.plot_height }}" stroke="#444"/>
<line x1="{{ chart.left }}" x2="{{ chart.left + chart.plot_width }}" y1="{{ chart.top + chart.plot_height }}" y2="{{ chart.top + chart.plot_height }}" stroke="#444"/>
{% for s in chart.series %}
<polyline class="series" data-format="{{ s.format }}" fill="none" stroke="{{ s.colour }}" stroke-width="2.5" points="{{ s.points }}"><title>{{ s.format }}</title></polyline>
{% endfor %}
</svg>
<p>{% for s in chart.series %}<span class="swatch" style="background: {{ s.colour }}"></span>{{ s.format }} &nbsp; {% endfor %}</p>
{% else %}
<p id="no-data">No usage events in this range.</p>
{% endif %}
<h2>Per format over the range</h2>
<table id="format-totals">
<tr><th>Format</th><th>Views</th><th>Unique users</th></tr>
{% for row in totals %}
<tr><td>{{ row.format }}</td><td>{{ "{:,}".format(row.views) }}</td><td>{{ "{:,}".format(row.unique_users) }}</td></tr>
{% endfor %}
</table>
<p>Files: daily_views.csv (per day and format), format_totals.csv (per format).</p>
</body>
</html>
"""
)


def render_usage_report(result_csv: str, request: DateRange) -> dict[str, str]:
    """The report files (name → text) of the usage query's result for `request`."""
    result = parse_result(result_csv)
    html = _HTML.render(
        start=request.start_date.isoformat(),
        end=request.end_date.isoformat(),
        views=sum(r.views for r in result.totals),
        chart=chart(result, request),
        totals=result.totals,
    )
    return {
        "daily_views.csv": daily_views_csv(result, request),
        "format_totals.csv": format_totals_csv(result),
        "report.html": html,
    }


RENDERERS = {"render_usage_report": render_usage_report}
