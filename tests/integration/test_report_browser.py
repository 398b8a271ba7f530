"""The usage report and the social brand page opened in a real browser: headless Chromium loads the static page offline,
takes a screenshot, and the chart's pixels are there in each series' colour."""

from __future__ import annotations

import subprocess

from PIL import Image

from orchestration.outputs.reports import PALETTE, render_usage_report
from orchestration.workflows import DateRange

# Two formats over 1-5 October, a hand-made result: video rises, audio stays low.
RESULT = "event_date,format,views,unique_users\n,video,150,9\n,audio,15,5\n" + "".join(
    f"2026-10-0{d},video,{10 * d},{d}\n2026-10-0{d},audio,3,1\n" for d in range(1, 6)
)


def screenshot(chromium: str, page: str, png: str, size: str = "900,700") -> None:
    done = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", f"--window-size={size}",
            f"--screenshot={png}", f"file://{page}",
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def colour_pixels(image: Image.Image, hex_colour: str, box: tuple[int, int, int, int]) -> int:
    target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    region = image.convert("RGB").crop(box)
    return sum(
        count
        for count, rgb in region.getcolors(maxcolors=1 << 20)
        if all(abs(a - b) <= 24 for a, b in zip(rgb, target, strict=True))
    )


def test_the_report_renders_its_chart_in_chromium(chromium, tmp_path):
    files = render_usage_report(RESULT, DateRange(startDate="2026-10-01", endDate="2026-10-05"))
    page = tmp_path / "report.html"
    page.write_text(files["report.html"], encoding="utf-8")
    png = tmp_path / "report.png"
    screenshot(chromium, str(page), str(png))
    image = Image.open(png)
    assert image.size == (900, 700)
    # The chart sits below the headings (from y=150); the series are drawn in the first two
    # palette colours (formats by views: video, then audio).
    chart_box = (0, 150, 820, 520)
    video, audio = (colour_pixels(image, PALETTE[i], chart_box) for i in (0, 1))
    assert video > 200 and audio > 200, (video, audio)
    # Not a blank page: the white background is not all there is.
    white = colour_pixels(image, "#ffffff", (0, 0, 900, 700))
    assert white < 900 * 700 * 0.97


def test_a_blank_page_has_no_chart_pixels(chromium, tmp_path):
    """The pixel check can fail: the same page with its chart removed has none of the colours."""
    files = render_usage_report(RESULT, DateRange(startDate="2026-10-01", endDate="2026-10-05"))
    html = files["report.html"]
    # The chart and its legend (whose swatches have the series' colours).
    start = html.index("<svg")
    end = html.index("</p>", html.index("</svg>")) + len("</p>")
    page = tmp_path / "no-chart.html"
    page.write_text(html[:start] + html[end:], encoding="utf-8")
    png = tmp_path / "no-chart.png"
    screenshot(chromium, str(page), str(png))
    image = Image.open(png)
    assert colour_pixels(image, PALETTE[0], (0, 150, 820, 520)) == 0


def bar_widths(image: Image.Image, hex_colour: str) -> list[int]:
    """Widths of the horizontal bars drawn in one colour, top to bottom: runs of rows that hold
    the colour, each measured by its widest row."""
    target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    rgb = image.convert("RGB")
    width, height = rgb.size
    pixels = rgb.load()
    rows = [
        sum(
            1
            for x in range(width)
            if all(abs(a - b) <= 24 for a, b in zip(pixels[x, y], target, strict=True))
        )
        for y in range(height)
    ]
    bars, current = [], 0
    for count in [*rows, 0]:
        if count:
            current = max(current, count)
        elif current:
            bars.append(current)
            current = 0
    return bars


def brand_doc() -> dict:
    """A hand-made brand document: 4 attendees, 3 female and 1 male; two artists."""
    bucket = lambda key, count: {"key": key, "count": count, "share": count / 4}  # noqa: E731
    return {
        "schema_version": 1,
        "type": "brand",
        "brand_id": 7,
        "as_of": "2026-11-03",
        "events": 2,
        "attendees": 4,
        "tickets": 9,
        "gender": [
            bucket("female", 3),
            bucket("male", 1),
            bucket("other", 0),
            bucket("unknown", 0),
        ],
        "age": [bucket("25-34", 4)],
        "top_artists": [
            {"rank": 1, "id": "a1", "name": "Artist A", "count": 2, "share": 0.5},
            {"rank": 2, "id": "a2", "name": "Artist B", "count": 1, "share": 0.25},
        ],
        "top_genres": [],
        "top_pages": [],
        "top_page_categories": [],
    }


def test_the_brand_page_draws_bars_in_proportion_in_chromium(chromium, tmp_path):
    from orchestration.outputs.social_documents import brand_page

    page = tmp_path / "7.html"
    page.write_text(brand_page(brand_doc()), encoding="utf-8")
    png = tmp_path / "7.png"
    screenshot(chromium, str(page), str(png), size="900,1400")
    image = Image.open(png)
    # Bars are 420 px at the chart's maximum, the next 1-2-5 step above the largest count:
    # gender 3 of max 5 → 252 px, 1 → 84 px (0 draws nothing); artists 2 of max 2 → 420, 1 → 210.
    gender = bar_widths(image, PALETTE[0])
    assert [round(w / 2) * 2 for w in gender] == [252, 84], gender
    artists = bar_widths(image, PALETTE[2])
    assert [round(w / 2) * 2 for w in artists] == [420, 210], artists
    # Charts without data say so instead of drawing nothing.
    assert page.read_text(encoding="utf-8").count("No data.") == 3
