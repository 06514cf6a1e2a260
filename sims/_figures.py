"""One figure style for every study and for the figures drawn on the docs pages.

Everything a figure shares lives here, so that all figures of the project look alike:

* **sizes**: a panel is ``PANEL`` inches (width, height); :func:`subplots` sizes a figure
  from its grid of panels, so a panel keeps its size whatever the number of panels, and
  a full-width figure is at most ``MAX_WIDTH`` inches wide (readable at 100 % zoom in the
  docs' content column);
* **fonts**: 10 pt text, 10.5 pt titles, 9.5 pt ticks and legends (:func:`apply_style`);
* **palette**: the Okabe–Ito colours, which stay distinct under the common forms of colour
  blindness, with one fixed colour per role (:data:`ROLE`: the pretrained model is always
  blue, the oracle green, descent–ascent vermillion, ...), and ``cividis`` for continuous
  values;
* **legends**: outside the data, below the panels (:func:`legend_below`) or to their
  right (:func:`legend_right`), never over curves;
* **notes**: a figure's caption-like explanation goes under it (:func:`caption`), not
  into a crowded title.

Studies call :func:`apply_style` once before drawing (``sims._common.use_headless_matplotlib``
does it); docs pages call it in their first plotting cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# Okabe & Ito (2008), "Color Universal Design": distinct for deuteranopes, protanopes
# and tritanopes, and in greyscale by lightness for most pairs.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#8C8C8C"
LIGHT = "#D9D9D9"
PALETTE = [BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, YELLOW, BLACK]

# One colour per role, the same in every figure.
ROLE = {
    "pretrained": BLUE,
    "oracle": GREEN,
    "da": VERMILLION,
    "ga": VERMILLION,
    "gda": BLUE,
    "scrub": PURPLE,
    "simultaneous": BLUE,
    "iterative": GREEN,
    "forget": VERMILLION,
    "retain": BLUE,
    "validation": GREEN,
    "simulation": ORANGE,
    "theory": BLACK,
    "band": GREY,
}

CMAP = "cividis"  # continuous values (perceptually uniform, colour-blind safe)
PANEL = (4.0, 3.1)  # inches, one panel
MAX_WIDTH = 10.0  # inches, a full-width figure: the docs show it at 75-95 % of its size
DPI = 130

STYLE = {
    "font.size": 10.0,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "legend.title_fontsize": 9.5,
    "legend.frameon": False,
    "figure.titlesize": 11.5,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "axes.prop_cycle": None,  # set in apply_style (needs cycler)
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 5.0,
    "image.cmap": CMAP,
    "figure.constrained_layout.use": True,
}


def apply_style() -> None:
    """Set the project's matplotlib rcParams (idempotent)."""
    import matplotlib as mpl
    from cycler import cycler

    params = dict(STYLE)
    params["axes.prop_cycle"] = cycler(color=PALETTE)
    mpl.rcParams.update(params)


def subplots(
    nrows: int = 1,
    ncols: int = 1,
    *,
    panel: tuple[float, float] = PANEL,
    extra_height: float = 0.0,
    **kwargs: Any,
) -> tuple[Any, np.ndarray]:
    """A figure of ``nrows x ncols`` panels of ``panel`` inches each (constrained layout).

    The width is capped at :data:`MAX_WIDTH` (panels shrink to fit); ``extra_height``
    adds room for a legend or caption below. Returns ``(fig, axes)`` with ``axes`` always
    a 2-D array.
    """
    import matplotlib.pyplot as plt

    apply_style()
    width = min(panel[0] * ncols, MAX_WIDTH)
    height = panel[1] * nrows * (width / (panel[0] * ncols)) ** 0.5 + extra_height
    kwargs.setdefault("squeeze", False)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)
    return fig, axes


def legend_below(
    fig: Any,
    handles: Sequence[Any] | None = None,
    labels: Sequence[str] | None = None,
    *,
    ncol: int | None = None,
    note: str | None = None,
    **kwargs: Any,
) -> Any:
    """A figure legend under all panels, outside the data, and an optional note under it.

    Without ``handles`` the entries of every axes are collected (duplicates dropped). The
    figure grows by the legend's and the note's height, so the panels keep their size;
    the constrained layout keeps every panel and label above them. Call it once, after
    drawing.
    """
    import math
    import textwrap

    if handles is None:
        handles, labels = _collect(fig)
    elif labels is None:
        labels = [h.get_label() for h in handles]
    handles, labels = list(handles), list(labels or [])
    w, h = fig.get_size_inches()
    if handles and ncol is None:
        # as many columns as fit: about 15 characters of 9 pt text per inch, plus the key
        widest = max(len(lab) for lab in labels) / 15.0 + 0.7
        ncol = max(1, min(len(handles), int(w // widest)))
    rows = math.ceil(len(handles) / ncol) if handles else 0
    legend_h = (rows * 9.0 * 1.55 + 8.0) / 72.0 if handles else 0.0
    lines = textwrap.wrap(note, width=max(40, int(w * 15))) if note else []
    note_h = (len(lines) * 9.0 * 1.3 + 8.0) / 72.0 if lines else 0.0
    total = h + legend_h + note_h
    fig.set_size_inches(w, total)
    bottom = (legend_h + note_h) / total
    fig.get_layout_engine().set(rect=(0.0, bottom, 1.0, 1.0 - bottom))
    legend = None
    if handles:
        legend = fig.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, bottom),
            ncol=ncol,
            borderaxespad=0.2,
            **kwargs,
        )
    if lines:
        fig.text(
            0.5,
            note_h / total,
            "\n".join(lines),
            ha="center",
            va="top",
            fontsize=9.0,
            color="0.25",
        )
    return legend


def legend_right(ax: Any, handles: Sequence[Any] | None = None, **kwargs: Any) -> Any:
    """An axes legend to the right of the panel, outside the data."""
    if handles is not None:
        kwargs["handles"] = handles
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def caption(fig: Any, text: str) -> None:
    """An explanatory note under the figure (for a figure without a :func:`legend_below`)."""
    legend_below(fig, [], [], note=text)


def discrete_colors(n: int, cmap: str = CMAP, lo: float = 0.15, hi: float = 0.95) -> list[Any]:
    """``n`` colours sampled evenly from a sequential map (light/dark ends trimmed)."""
    import matplotlib as mpl

    cm = mpl.colormaps[cmap]
    if n == 1:
        return [cm(hi)]
    return [cm(v) for v in np.linspace(lo, hi, n)]


def shades(color: str, n: int, lightest: float = 0.25) -> list[tuple[float, ...]]:
    """``n`` shades of ``color`` from light (mixed with white) to the full colour."""
    import matplotlib.colors as mcolors

    rgb = np.asarray(mcolors.to_rgb(color))
    mix = np.linspace(lightest, 1.0, n) if n > 1 else np.ones(1)
    return [tuple(1.0 - m * (1.0 - rgb)) for m in mix]


def _collect(fig: Any) -> tuple[list[Any], list[str]]:
    seen: dict[str, Any] = {}
    for ax in fig.axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab and not lab.startswith("_") and lab not in seen:
                seen[lab] = h
    return list(seen.values()), list(seen)
