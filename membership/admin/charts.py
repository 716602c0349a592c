"""Bar and line charts as SVG strings drawn on the server: no script, no inline style, no CDN.

Colours come from classes (`series-0` …) styled once in static/css/site.css, the one palette of
the dashboard and every report: a series may name its colour (`Series(name, values, colour)`)
so that the same thing has the same colour everywhere (memberships blue, one-time gifts orange,
monthly gifts green, gifts recorded by hand violet, in grace amber, lost red). The y axis steps
by round values (1, 2, 2.5 or 5 times a power of ten); x labels are thinned (time) or shortened
(categories) so that they never overlap. Labels are escaped; values are written by Babel for the
page's language unless the caller formats them (money).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

from flask_babel import format_decimal
from markupsafe import Markup, escape

# The drawing's own units; the SVG is as wide as its card (CSS), about one unit per pixel at a
# desktop's width, so that the estimates of text widths below hold.
WIDTH, HEIGHT = 880, 280
RIGHT, TOP, BOTTOM = 12, 12, 46
FONT = 11  # px, as site.css sets it
CHAR = 0.62 * FONT  # a wide Latin or Cyrillic glyph's width, with room to spare
WIDE = 0.72 * FONT  # a Georgian or Armenian glyph (DejaVu and Noto draw them wider)
LEGEND_ROW = 16
COLOURS = 7  # series-0 … series-6 in site.css
# The colours of the palette, by what they show (see the module docstring).
BLUE, ORANGE, GREEN, VIOLET, AMBER, SLATE, RED = range(COLOURS)
STEPS = (1, 2, 2.5, 5)


class Series(NamedTuple):
    """One series: its name in the legend, its values, and its colour in the palette."""

    name: str
    values: Sequence[int | float]
    colour: int | None = None


def _series(series: Sequence) -> list[Series]:
    """Series from (name, values) or (name, values, colour); colours follow the order if unset."""
    out = []
    for n, item in enumerate(series):
        s = Series(*item)
        out.append(s._replace(colour=(n if s.colour is None else s.colour) % COLOURS))
    return out


def nice_step(value: float, integer: bool = False) -> float:
    """The smallest round step (1, 2, 2.5 or 5 times a power of ten) at or above `value`; a
    whole number when `integer` (counts have no half members)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for multiple in (*STEPS, 10):
        step = multiple * power
        if step >= value * (1 - 1e-9) and not (integer and step != int(step)):
            return step
    return 10 * power


def nice_ticks(maximum: float, count: int = 4, integer: bool = False) -> list[float]:
    """Round gridline values from 0 to at least `maximum`, about `count` steps apart."""
    step = nice_step(maximum / count if maximum > 0 else 1, integer or maximum <= 0)
    if integer:
        step = max(1, step)
    steps = max(1, math.ceil(maximum / step - 1e-9))
    return [step * i for i in range(steps + 1)]


def nice_ceiling(value: float) -> float:
    """A round number at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    return nice_step(value)


def text_width(text: str) -> float:
    """About how wide `text` is drawn, in the drawing's units (on the wide side)."""
    return sum(WIDE if "\u0530" <= ch <= "\u10ff" else CHAR for ch in text)


def shorten(text: str, width: float) -> str:
    """`text` cut with an ellipsis to fit `width` (the whole stays in the tooltip)."""
    if text_width(text) <= width:
        return text
    keep = len(text)
    while keep > 1 and text_width(text[:keep]) + CHAR > width:
        keep -= 1
    return text[:keep].rstrip() + "…"


def label_step(labels: Sequence[str], slot: float) -> int:
    """Show every n-th label so that none touches the next: 1, 2, 3, 4, 6 or 12 months (whole
    quarters and half-years over long ranges), or whatever it takes beyond."""
    widest = max((text_width(label) for label in labels), default=0) + 8
    need = math.ceil(widest / slot) if slot > 0 else 1
    for step in (1, 2, 3, 4, 6, 12):
        if step >= need:
            return step
    return need


class Frame(NamedTuple):
    """Where the plot sits in the drawing, and its scale."""

    left: float
    slot: float
    plot_h: float
    top: float


def _frame(labels, ticks, fmt, title, categories, height=HEIGHT) -> tuple[Frame, list[str]]:
    """The SVG opening (`height` tall, the legend's rows below the plot), the gridlines with
    their round values, and the x labels."""
    tick_text = [fmt(t) for t in ticks]
    left = _left(ticks, fmt)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - left - RIGHT) / max(len(labels), 1)
    frame = Frame(left, slot, plot_h, ticks[-1] or 1)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for value, text in zip(ticks, tick_text, strict=True):
        y = TOP + plot_h - plot_h * value / frame.top
        parts.append(
            f'<line class="grid" x1="{left}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(text)}</text>"
        )
    step = 1 if categories else label_step(labels, slot)
    y = TOP + plot_h + 18
    for i, label in enumerate(labels):
        if i % step:
            continue
        x = left + slot * (i + 0.5)
        shown = shorten(label, slot - 8) if categories else label
        tip = f"<title>{escape(label)}</title>" if shown != label else ""
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{y}" text-anchor="middle">{tip}'
            f"{escape(shown)}</text>"
        )
    return frame, parts


def _legend_rows(series: Sequence[Series], left: float) -> list[list[tuple[float, Series]]]:
    """The legend's items placed left to right, a new row when the next would not fit."""
    rows: list[list[tuple[float, Series]]] = [[]]
    x = left
    for s in series:
        width = 24 + text_width(s.name)
        if rows[-1] and x + width > WIDTH - RIGHT:
            rows.append([])
            x = left
        rows[-1].append((x, s))
        x += width
    return rows


def _legend(rows: list[list[tuple[float, Series]]]) -> str:
    """Series names with their colour, under the chart."""
    parts = []
    for n, row in enumerate(rows):
        y = HEIGHT + LEGEND_ROW * n
        for x, s in row:
            parts.append(
                f'<rect class="series-{s.colour}" x="{x:.1f}" y="{y - 14}" width="10" height="10"/>'
            )
            parts.append(
                f'<text class="legend" x="{x + 14:.1f}" y="{y - 5}">{escape(s.name)}</text>'
            )
    return "".join(parts)


def _left(ticks, fmt) -> float:
    """Room for the y axis's values."""
    return max(40, max(text_width(fmt(t)) for t in ticks) + 14)


def _whole(series: Sequence[Series]) -> bool:
    """Whether every value is a whole number (counts, minor units): the axis then steps by
    whole numbers too."""
    return all(float(v).is_integer() for s in series for v in s.values)


def bar_chart(
    labels: Sequence[str],
    series: Sequence,
    title: str,
    fmt: Callable[[float], str] = lambda v: format_decimal(v),
    categories: bool = False,
) -> Markup:
    """Stacked bars, one per label; negative values stay out of the stack (tables show them).

    `categories`: the labels are names (articles, outlets), shortened to their bar's width;
    otherwise they are months, thinned to every n-th when they would touch.
    """
    series = _series(series)
    totals = [sum(max(s.values[i], 0) for s in series) for i in range(len(labels))]
    ticks = nice_ticks(max(totals, default=0), integer=_whole(series))
    legend = _legend_rows(series, _left(ticks, fmt))
    height = HEIGHT + LEGEND_ROW * (len(legend) - 1)
    frame, parts = _frame(labels, ticks, fmt, title, categories, height)
    for i, label in enumerate(labels):
        y = TOP + frame.plot_h
        for s in series:
            value = max(s.values[i], 0)
            if not value:
                continue
            h = frame.plot_h * value / frame.top
            y -= h
            parts.append(
                f'<rect class="series-{s.colour}" x="{frame.left + frame.slot * (i + 0.15):.1f}" '
                f'y="{y:.1f}" width="{frame.slot * 0.7:.1f}" height="{h:.1f}">'
                f"<title>{escape(label)} · {escape(s.name)}: {escape(fmt(value))}</title></rect>"
            )
    parts.append(_legend(legend))
    parts.append("</svg>")
    svg = "".join(parts)
    return Markup(svg)  # noqa: S704 - every label above is escaped  # nosec B704


def line_chart(
    labels: Sequence[str],
    series: Sequence,
    title: str,
    fmt: Callable[[float], str] = lambda v: format_decimal(v),
) -> Markup:
    """One line per series, with a dot and a tooltip per point; months thinned as bars are."""
    series = _series(series)
    top = max((max(s.values, default=0) for s in series), default=0)
    ticks = nice_ticks(top, integer=_whole(series))
    legend = _legend_rows(series, _left(ticks, fmt))
    height = HEIGHT + LEGEND_ROW * (len(legend) - 1)
    frame, parts = _frame(labels, ticks, fmt, title, False, height)
    for s in series:
        points = [
            (frame.left + frame.slot * (i + 0.5),
             TOP + frame.plot_h - frame.plot_h * max(v, 0) / frame.top)
            for i, v in enumerate(s.values)
        ]  # fmt: skip
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="line series-{s.colour}" fill="none" points="{path}"/>')
        for (x, y), label, value in zip(points, labels, s.values, strict=False):
            parts.append(
                f'<circle class="series-{s.colour}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{escape(label)} · {escape(s.name)}: {escape(fmt(value))}</title></circle>"
            )
    parts.append(_legend(legend))
    parts.append("</svg>")
    svg = "".join(parts)
    return Markup(svg)  # noqa: S704 - every label above is escaped  # nosec B704
