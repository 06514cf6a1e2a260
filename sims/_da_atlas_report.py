"""Figures and tables of ``python -m sims.da_atlas``.

The regime colours, the boundary-line styles and the legend handles are public:
the documentation draws its own panels with them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sims._common import markdown_table, save_figure

# regime colours (Okabe-Ito, colour-blind safe); divergent is dark grey, not black, so
# that the black-on-white boundary lines stay visible on it
COLORS = ["#009E73", "#E69F00", "#56B4E9", "#D55E00", "#CC79A7", "#595959"]
LABELS = {
    "da": "DA fixed point",
    "spurious": "spurious fixed point",
    "periodic": "periodic",
    "chaotic": "chaotic (Λ > 0)",
    "aperiodic": "aperiodic / unresolved",
    "divergent": "divergent",
}


def regime_panel(ax, x, y, codes, regimes, *, logx=False) -> None:
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap(COLORS)
    norm = BoundaryNorm(np.arange(-0.5, len(regimes) + 0.5), cmap.N)
    ax.pcolormesh(x, y, codes, cmap=cmap, norm=norm, shading="nearest", rasterized=True)
    ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")


# Boundary lines: black with a white halo, so they read on every regime colour.
LINES = {
    "case12": dict(ls="-", lw=1.0, label="f = r: case 1 | 2 (a second stationary point appears)"),
    "case23": dict(ls="-", lw=2.2, label="case 2 | 3 with ridge 2λ: no stationary point beyond"),
    "case23_lam": dict(ls=":", lw=1.6, label="case 2 | 3 with ridge λ (for comparison)"),
    "curv": dict(ls="--", lw=1.4, label="η·L''(w_DA) = 2: the DA minimum turns unstable"),
    "ridge": dict(ls="-.", lw=1.2, label="ridge instability: η = 2/λ (iterative), 1/λ (simult.)"),
}


def line_style(kind: str) -> dict[str, Any]:
    import matplotlib.patheffects as pe

    kw = {k: v for k, v in LINES[kind].items() if k != "label"}
    halo = [pe.withStroke(linewidth=kw["lw"] + 2.0, foreground="white")]
    return dict(color="black", path_effects=halo, **kw)


def line_handles(kinds) -> list[Any]:
    from matplotlib.lines import Line2D

    return [Line2D([], [], label=LINES[k]["label"], **line_style(k)) for k in kinds]


def regime_handles(regimes) -> list[Any]:
    from matplotlib.patches import Patch

    return [Patch(color=c, label=LABELS[n]) for c, n in zip(COLORS, regimes)]


def period_figure(args, out, eta, fr, period, bounds) -> str:
    """The period of every cyclic orbit of iterative DA over (f/r, η) (1 = fixed point)."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from sims import _figures as F

    # Discrete classes: the small periods one by one, the long ones in octaves.
    edges = [1, 2, 3, 4, 5, 9, 17, 33]
    names = ["1 (fixed point)", "2", "3", "4", "5–8", "9–16", "17–32"]
    colors = [F.GREEN, F.SKY, F.BLUE, F.ORANGE, F.VERMILLION, F.PURPLE, F.BLACK]
    keep = [i for i in range(len(names)) if edges[i] <= args.max_period]
    edges = [edges[i] for i in keep] + [args.max_period + 1]
    names = [names[i] for i in keep]
    colors = [colors[i] for i in keep]
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(edges, cmap.N)
    fig, axes = F.subplots(1, 1, panel=(6.4, 4.4))
    ax = axes[0, 0]
    shown = np.where(period > 0, period, np.nan).astype(float)
    ax.set_facecolor(F.LIGHT)
    ax.pcolormesh(fr, eta, shown, cmap=cmap, norm=norm, shading="nearest", rasterized=True)
    ax.axvline(bounds["fr_case12"], **line_style("case12"))
    ax.axvline(bounds["fr_case23_2lam"], **line_style("case23"))
    ax.set(yscale="log", xlabel="f / r", ylabel="η (step size)", ylim=(eta[0], eta[-1]))
    ax.set_title(
        f"Iterative DA: period of the orbit it settles on (λ = {args.lam:g}, r = {args.r:g})"
    )
    handles = [Patch(color=c, label=f"period {n}") for c, n in zip(colors, names)]
    handles.append(Patch(color=F.LIGHT, label="no cycle (chaotic, aperiodic or divergent)"))
    handles += line_handles(["case12", "case23"])
    F.legend_below(fig, handles, ncol=2)
    return str(save_figure(fig, out / "periods.png"))


def figures(args, out, regimes, eta, fr, lams, panels, f_bif, bif, eta2, alpha, bounds, flips):
    """phase_diagrams.png, bifurcation.png and block2d.png; ``flips`` are the
    η·L''(w_DA) = 2 curves over ``fr`` and ``lams``."""
    from sims import _figures as F

    r, lam = args.r, args.lam
    files = []
    # ---------------------------------------------------------------- phase diagrams
    fig, axes = F.subplots(2, 3, panel=(4.0, 3.2), sharey=True)
    titles = {
        "iterative": "iterative DA",
        "simultaneous": "simultaneous DA",
        "flow": "gradient flow",
    }
    flip_fr, flip_lam = flips
    for j, scheme in enumerate(("iterative", "simultaneous", "flow")):
        ax = axes[0, j]
        regime_panel(ax, fr, eta, panels[f"{scheme}_eta_fr"], regimes)
        ax.axvline(bounds["fr_case12"], **line_style("case12"))
        ax.axvline(bounds["fr_case23_2lam"], **line_style("case23"))
        ax.axvline(bounds["fr_case23_lam"], **line_style("case23_lam"))
        if scheme != "flow":  # the flow has no step size
            ax.plot(fr, flip_fr, **line_style("curv"))
            ax.axhline(2 / lam if scheme == "iterative" else 1 / lam, **line_style("ridge"))
        ax.set_ylim(eta[0], eta[-1])
        ax.set_xlabel("f / r")
        ax.set_title(f"{titles[scheme]}: λ = {lam:g}")
        ax = axes[1, j]
        regime_panel(ax, lams, eta, panels[f"{scheme}_eta_lam"], regimes, logx=True)
        if args.fr > 1:
            ax.axvline(np.e * r * (args.fr - 1) / 2, **line_style("case23"))
            ax.axvline(np.e * r * (args.fr - 1), **line_style("case23_lam"))
        if scheme != "flow":
            ax.plot(lams, flip_lam, **line_style("curv"))
            ridge = (2 if scheme == "iterative" else 1) / lams
            ax.plot(lams, ridge, **line_style("ridge"))
        ax.set_ylim(eta[0], eta[-1])
        ax.set_xlabel("λ (ridge per half-step)")
        ax.set_title(f"{titles[scheme]}: f/r = {args.fr:g}")
    for ax in axes[:, 0]:
        ax.set_ylabel("η (step size)")
    fig.suptitle(f"Long-run behaviour of descent–ascent from w0 = {args.w0:g}, r = {r:g}")
    F.legend_below(
        fig,
        regime_handles(regimes) + line_handles(LINES),
        ncol=3,
        note="Simultaneous DA is gradient descent on L_DA with ridge 2λ; the flow is its "
        "small-step limit and has no η (its rows repeat).",
    )
    files.append(str(save_figure(fig, out / "phase_diagrams.png")))

    # ---------------------------------------------------------------- bifurcation diagram
    fig, axes = F.subplots(
        2,
        len(bif),
        panel=(5.0, 2.6),
        sharex=True,
        gridspec_kw={"height_ratios": [2, 1]},
    )
    for j, (e, (orbit, codes, lyap)) in enumerate(bif.items()):
        ax = axes[0, j]
        shown = codes != regimes.index("divergent")
        ff = np.repeat(f_bif[shown], orbit.shape[1])
        ax.scatter(ff, orbit[shown].ravel(), s=0.05, c="k", alpha=0.5, rasterized=True)
        for f0, ls in ((r, "-"), (r + 2 * lam / np.e, "--")):
            for a in axes[:, j]:
                a.axvline(f0, color=F.VERMILLION, lw=0.9, ls=ls)
        ax.set_ylabel("orbit points $w_t$")
        ax.set_title(f"iterative DA, η = {e:g} (r = {r:g}, λ = {lam:g})")
        lo = np.nanpercentile(orbit[shown], 0.5) if shown.any() else -1
        hi = np.nanpercentile(orbit[shown], 99.5) if shown.any() else 1
        ax.set_ylim(lo - 0.5, hi + 0.5)
        ax = axes[1, j]
        ax.plot(f_bif, lyap, lw=0.9, color=F.BLUE)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylabel("Lyapunov exponent Λ")
        ax.set_xlabel("f")
    from matplotlib.lines import Line2D

    F.legend_below(
        fig,
        [
            Line2D([], [], color=F.VERMILLION, lw=0.9, label="f = r: case 1 | 2"),
            Line2D([], [], color=F.VERMILLION, lw=0.9, ls="--", label="f = r + 2λ/e: case 2 | 3"),
        ],
        note="Top: the last 128 points of each orbit (divergent orbits left out). Bottom: "
        "Λ > 0 is chaos.",
    )
    files.append(str(save_figure(fig, out / "bifurcation.png")))

    # ---------------------------------------------------------------- 2-D block
    fig, axes = F.subplots(1, 3, panel=(4.0, 3.2), sharey=True)
    for j, scheme in enumerate(("iterative", "simultaneous", "flow")):
        ax = axes[0, j]
        regime_panel(ax, alpha, eta2, panels[f"block2d_{scheme}"], regimes)
        ax.set_xlabel("α = |S_j| / |S_i|")
        ax.set_title(f"{titles[scheme]}, ε = {args.rho:g}")
    axes[0, 0].set_ylabel("η (step size)")
    fig.suptitle(
        f"Cross-correlated block: w0 = (1, 1), |S_i| = 50, |R| = 900, |F| = 100, λ = {lam:g}"
    )
    F.legend_below(fig, regime_handles(regimes), ncol=6)
    files.append(str(save_figure(fig, out / "block2d.png")))
    return files


def table(summary: dict[str, Any]) -> str:
    """table.md: the regime fractions per panel and the reference points."""
    regimes = summary["regimes"]
    rows = [[k] + [v[n] for n in regimes] for k, v in summary["fractions"].items()]
    text = "## Fraction of each regime per panel\n\n" + markdown_table(
        ["panel", *regimes], rows, floatfmt=".3f"
    )
    keys = ("eta", "f", "regime", "period", "orbit_min", "orbit_max", "lyapunov", "stated")
    trows = [[t[k] for k in keys] for t in summary["theory_points"]]
    text += "\n## Reference points of the iterative DA map (r = 0.05, λ = 0.01, w0 = 1)\n\n"
    text += markdown_table(
        ["η", "f", "regime", "period", "orbit min", "orbit max", "Lyapunov", "expected"],
        trows,
        floatfmt=".4g",
    )
    return text
