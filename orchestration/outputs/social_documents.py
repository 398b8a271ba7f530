"""The social analytics documents (DESIGN §5.2): one JSON document per event and per brand under
exports/social/{events,brands}/<id>.json, the input of the frontend's graphs, and a static HTML
page per brand (exports/social/brands/<id>.html) drawn from its document: bar charts of gender,
age and the top lists, as inline SVG (no external assets).

Builders are pure (statistics rows in → dict / text out); `write_documents` does the I/O."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from jinja2 import Environment

from orchestration.core.lake import Lake
from orchestration.core.storage import write_bytes
from orchestration.outputs.reports import PALETTE, nice_ceiling

SCHEMA_VERSION = 1
# dimension of the statistics rows → its list in the document
TOP_LISTS = {
    "page": "top_pages",
    "page_category": "top_page_categories",
    "artist": "top_artists",
    "genre": "top_genres",
}
BUCKETS = {"gender": "gender", "age": "age"}
SHARE_DIGITS = 4


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, SHARE_DIGITS)


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def statistics(rows: list[dict]) -> dict[str, list[dict]]:
    """The gender and age buckets and the top lists of one subject's rows, in rank order."""
    doc: dict[str, list[dict]] = {name: [] for name in (*BUCKETS.values(), *TOP_LISTS.values())}
    for row in sorted(rows, key=lambda r: (r["dimension"], r["rank"])):
        share = _share(row["share"])
        if row["dimension"] in BUCKETS:
            entry = {"key": row["key"], "count": row["count"], "share": share}
            doc[BUCKETS[row["dimension"]]].append(entry)
        else:
            entry = {
                "rank": row["rank"],
                "id": row["key"],
                "name": row["label"],
                "count": row["count"],
                "share": share,
            }
            doc[TOP_LISTS[row["dimension"]]].append(entry)
    return doc


def _document(kind: str, identity: tuple[str, ...], rows: list[dict], as_of: dt.date) -> dict:
    """A subject's document: its identity columns (from any of its rows, which all carry them),
    the as-of date, attendees, tickets and its statistics."""
    first = rows[0]
    return {
        "schema_version": SCHEMA_VERSION,
        "type": kind,
        **{column: _iso(first[column]) for column in identity},
        "as_of": as_of.isoformat(),
        "attendees": first["attendees"],
        "tickets": first["tickets"],
        **statistics(rows),
    }


def event_document(rows: list[dict], as_of: dt.date) -> dict[str, Any]:
    return _document("event", ("event_id", "brand_id", "name", "starts_at"), rows, as_of)


def brand_document(rows: list[dict], as_of: dt.date) -> dict[str, Any]:
    return _document("brand", ("brand_id", "events"), rows, as_of)


def by_subject(rows: Iterable[dict], id_column: str) -> Iterable[tuple[int, list[dict]]]:
    """Rows sorted by `id_column` → (id, that subject's rows)."""
    for subject_id, group in groupby(rows, key=lambda r: r[id_column]):
        yield subject_id, list(group)


# --- the brand page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    share: float | None
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    colour: str
    height: int
    maximum: int
    bars: list[Bar]


LABEL_WIDTH, PLOT_WIDTH, BAR_HEIGHT, BAR_GAP = 180, 420, 18, 6


def bar_chart(chart_id: str, title: str, entries: list[dict], colour: str, label: str) -> BarChart:
    """Horizontal bars of `count` per entry, scaled to a round maximum."""
    maximum = nice_ceiling(max((e["count"] for e in entries), default=0))
    bars = [
        Bar(
            label=str(e[label]),
            count=e["count"],
            share=e["share"],
            y=8 + i * (BAR_HEIGHT + BAR_GAP),
            width=PLOT_WIDTH * e["count"] / maximum,
        )
        for i, e in enumerate(entries)
    ]
    height = 16 + len(bars) * (BAR_HEIGHT + BAR_GAP)
    return BarChart(chart_id, title, colour, height, maximum, bars)


def brand_charts(doc: dict[str, Any]) -> list[BarChart]:
    specs = [
        ("gender", "Gender", "gender", "key"),
        ("age", "Age at the event", "age", "key"),
        ("top-artists", "Top artists", "top_artists", "name"),
        ("top-genres", "Top genres", "top_genres", "name"),
        ("top-pages", "Top liked pages", "top_pages", "name"),
        ("top-page-categories", "Top page categories", "top_page_categories", "name"),
    ]
    return [
        bar_chart(chart_id, title, doc[field], PALETTE[n % len(PALETTE)], label)
        for n, (chart_id, title, field, label) in enumerate(specs)
    ]


_PAGE = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Brand {{ doc.brand_id }}: audience</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
section { margin-bottom: 1.5em; }
</style>
</head>
<body>
<h1>Brand {{ doc.brand_id }}: audience</h1>
<p id="summary">{{ "{:,}".format(doc.attendees) }} attendees bought {{ "{:,}".format(doc.tickets) }} tickets for {{ doc.events }} events (as of {{ doc.as_of }}).</p>
{% for c in charts %}
<section>
<h2>{{ c.title }}</h2>
{% if c.bars %}
<svg id="{{ c.id }}" xmlns="http://www.w3.org/2000/svg" width="{{ label_width + plot_width + 140 }}" height="{{ c.height }}" role="img" aria-label="{{ c.title }}">
<rect x="0" y="0" width="{{ label_width + plot_width + 140 }}" height="{{ c.height }}" fill="#ffffff"/>
{% for b in c.bars %}
<text x="{{ label_width - 8 }}" y="{{ b.y + 13 }}" font-size="12" text-anchor="end">{{ b.label }}</text>
<rect class="bar" data-label="{{ b.label }}" data-count="{{ b.count }}" x="{{ label_width }}" y="{{ b.y }}" width="{{ '%.1f' % b.width }}" height="{{ bar_height }}" fill="{{ c.colour }}"><title>{{ b.label }}: {{ b.count }}</title></rect>
<text x="{{ label_width + b.width + 6 }}" y="{{ b.y + 13 }}" font-size="12">{{ "{:,}".format(b.count) }}{% if b.share is not none %} ({{ '%.1f' % (100 * b.share) }}%){% endif %}</text>
{% endfor %}
</svg>
{% else %}
<p class="no-data">No data.</p>
{% endif %}
</section>
{% endfor %}
<p>Data: {{ doc.brand_id }}.json (schema version {{ doc.schema_version }}).</p>
</body>
</html>
"""
)


def brand_page(doc: dict[str, Any]) -> str:
    return _PAGE.render(
        doc=doc,
        charts=brand_charts(doc),
        label_width=LABEL_WIDTH,
        plot_width=PLOT_WIDTH,
        bar_height=BAR_HEIGHT,
    )


def dumps(doc: dict[str, Any]) -> str:
    """A document's text: stable key order, so a rerun writes the same bytes."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- I/O ---------------------------------------------------------------------------------------


def document_path(lake: Lake, kind: str, subject_id: int, extension: str = "json") -> str:
    return lake.exports("social", kind, f"{subject_id}.{extension}")


def _put(path: str, text: str, content_type: str) -> None:
    write_bytes(path, text.encode(), content_type)


def write_documents(
    lake: Lake, as_of: dt.date, event_rows: list[dict], brand_rows: list[dict]
) -> int:
    """Write the documents of the given statistics rows (each sorted by its id) and each brand's
    page; returns how many files were written."""
    written = 0
    for event_id, rows in by_subject(event_rows, "event_id"):
        doc = event_document(rows, as_of)
        _put(document_path(lake, "events", event_id), dumps(doc), "application/json")
        written += 1
    for brand_id, rows in by_subject(brand_rows, "brand_id"):
        doc = brand_document(rows, as_of)
        _put(document_path(lake, "brands", brand_id), dumps(doc), "application/json")
        _put(document_path(lake, "brands", brand_id, "html"), brand_page(doc), "text/html")
        written += 2
    return written
