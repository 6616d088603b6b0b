"""Self-contained HTML reports with charts, for people who would rather look than read.

Charts are drawn with matplotlib as inline SVG, so a report is one file that
opens anywhere, offline, with nothing to fetch.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt

_PALETTE = ("#1f5aa6", "#e07b39", "#3a9a5b", "#b8403a", "#7a5195", "#8c8c8c")
_CSS = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:980px;
color:#1d1d1f;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:0}table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}th{background:#f3f5f8}
td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#2c7a3f;font-weight:600}
.bad{color:#b3261e;font-weight:600}figure{margin:1rem 0}figcaption{color:#555;font-size:.9rem}
svg{max-width:100%;height:auto}
"""


def _svg(fig: object) -> str:
    buf = io.StringIO()
    # No date in the metadata: the same figures draw the same bytes.
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue: the SVG sits inside HTML


def bar_chart(
    values: Mapping[str, float], *, title: str, ylabel: str = "", horizontal: bool = False
) -> str:
    """An SVG bar chart of ``values`` (label -> value)."""
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.35 * len(values)) if horizontal else 3.2))
    labels, heights = list(values), list(values.values())
    if horizontal:
        ax.barh(labels, heights, color=_PALETTE[0])
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
    else:
        ax.bar(labels, heights, color=_PALETTE[0])
        ax.set_ylabel(ylabel)
        plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def grouped_bar_chart(
    groups: Mapping[str, Mapping[str, float]], *, title: str, ylabel: str = ""
) -> str:
    """An SVG bar chart with one bar per series in each group: {group: {series: value}}."""
    series = sorted({s for g in groups.values() for s in g})
    fig, ax = plt.subplots(figsize=(8, 3.4))
    width = 0.8 / max(1, len(series))
    for i, name in enumerate(series):
        xs = [j + i * width for j in range(len(groups))]
        ax.bar(
            xs,
            [g.get(name, 0) for g in groups.values()],
            width,
            label=name,
            color=_PALETTE[i % len(_PALETTE)],
        )
    ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(groups))])
    ax.set_xticklabels(list(groups), rotation=15, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def line_chart(
    series: Mapping[str, Sequence[float]], *, title: str, xlabel: str = "", ylabel: str = ""
) -> str:
    """An SVG line chart, one line per series over a shared x axis 0..n-1."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for i, (name, ys) in enumerate(series.items()):
        ax.plot(range(len(ys)), list(ys), label=name, color=_PALETTE[i % len(_PALETTE)], lw=1.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8, ncol=min(5, len(series)))
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def xy_chart(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    diagonal: bool = False,
) -> str:
    """An SVG chart of lines through (x, y) points, one per series (ROC, calibration).

    ``diagonal`` draws y = x over [0, max] as a dashed reference (chance, perfect calibration).
    """
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    top = 0.0
    for i, (name, (xs, ys)) in enumerate(series.items()):
        ax.plot(list(xs), list(ys), label=name, color=_PALETTE[i % len(_PALETTE)], lw=1.4)
        top = max(top, *xs, *ys)
    if diagonal:
        ax.plot([0, top], [0, top], color="#999999", lw=0.8, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


@dataclass
class HtmlReport:
    """A report page built section by section."""

    title: str
    subtitle: str = ""
    _parts: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        """Start a section."""
        self._parts.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str) -> None:
        """A paragraph of plain text."""
        self._parts.append(f"<p>{html.escape(text)}</p>")

    def verdict(self, ok: bool, text: str) -> None:
        """A one-line verdict, green when ``ok``."""
        cls = "ok" if ok else "bad"
        self._parts.append(f'<p class="{cls}">{html.escape(text)}</p>')

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """A table; numbers are right-aligned and grouped by thousands."""
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = []
        for row in rows:
            cells = []
            for v in row:
                if isinstance(v, int | float) and not isinstance(v, bool):
                    cells.append(f'<td class="n">{v:,}</td>')
                else:
                    cells.append(f"<td>{html.escape(str(v))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        self._parts.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")

    def chart(self, svg: str, caption: str) -> None:
        """An inline SVG chart with a caption."""
        self._parts.append(
            f'<figure class="chart">{svg}<figcaption>{html.escape(caption)}</figcaption></figure>'
        )

    def render(self) -> str:
        """The whole page: one self-contained HTML document."""
        sub = f'<p class="sub">{html.escape(self.subtitle)}</p>' if self.subtitle else ""
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>"
            f"<body><h1>{html.escape(self.title)}</h1>{sub}{''.join(self._parts)}</body></html>\n"
        )
