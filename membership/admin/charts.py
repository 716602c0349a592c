"""Bar and line charts as SVG strings drawn on the server: no script, no inline style, no CDN.

Colours come from classes (`series-0` …) styled in static/css/site.css; labels are escaped;
values are written by Babel for the page's language unless the caller formats them (money).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask_babel import format_decimal
from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 10, 40
Series = tuple[str, Sequence[int | float]]


def nice_ceiling(value: float) -> float:
    """A round number at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    power = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _frame(labels: Sequence[str], top: float, fmt: Callable[[float], str], title: str) -> list[str]:
    """The SVG opening, gridlines with their values, and the x labels."""
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(top * i / 4))}</text>"
        )
    step = max(1, -(-len(labels) // 12))  # at most 12 x labels
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    for i, label in enumerate(labels):
        if i % step == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    return parts


def _legend(series: Sequence[Series]) -> str:
    """Series names with their colour, under the chart."""
    x, parts = LEFT, []
    for i, (name, _values) in enumerate(series):
        parts.append(
            f'<rect class="series-{i % 6}" x="{x}" y="{HEIGHT - 14}" width="10" height="10"/>'
        )
        parts.append(f'<text class="legend" x="{x + 14}" y="{HEIGHT - 5}">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    title: str,
    fmt: Callable[[float], str] = lambda v: format_decimal(round(v)),
) -> Markup:
    """Stacked bars, one per label; negative values stay out of the stack (tables show them)."""
    totals = [sum(max(s[1][i], 0) for s in series) for i in range(len(labels))]
    top = nice_ceiling(max(totals, default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    parts = _frame(labels, top, fmt, title)
    for i, label in enumerate(labels):
        y = TOP + plot_h
        for n, (name, values) in enumerate(series):
            value = max(values[i], 0)
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(
                f'<rect class="series-{n % 6}" x="{LEFT + slot * i + slot * 0.15:.1f}" '
                f'y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}">'
                f"<title>{escape(label)} · {escape(name)}: {escape(fmt(value))}</title></rect>"
            )
    parts.append(_legend(series))
    parts.append("</svg>")
    svg = "".join(parts)
    return Markup(svg)  # noqa: S704 - every label above is escaped  # nosec B704


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    title: str,
    fmt: Callable[[float], str] = lambda v: format_decimal(round(v)),
) -> Markup:
    """One line per series, with a dot and a tooltip per point."""
    top = nice_ceiling(max((max(v, default=0) for _, v in series), default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    parts = _frame(labels, top, fmt, title)
    for n, (name, values) in enumerate(series):
        points = [
            (LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * max(v, 0) / top)
            for i, v in enumerate(values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline class="line series-{n % 6}" fill="none" points="{path}"/>')
        for (x, y), label, value in zip(points, labels, values, strict=False):
            parts.append(
                f'<circle class="series-{n % 6}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{escape(label)} · {escape(name)}: {escape(fmt(value))}</title></circle>"
            )
    parts.append(_legend(series))
    parts.append("</svg>")
    svg = "".join(parts)
    return Markup(svg)  # noqa: S704 - every label above is escaped  # nosec B704
