"""The DA atlas: where descent-ascent converges, cycles, turns chaotic or diverges.

Phase diagrams of the long-run behaviour of per-coordinate DA (paper App. D.3) over
(η, f/r) and (η, λ), for iterative DA, simultaneous DA (gradient descent on L_DA with
ridge 2λ) and the gradient flow, with the exact branch boundaries of the one-coordinate theory drawn
on top; a bifurcation diagram (orbit points against f at fixed η) with the Lyapunov
exponent under it; and the same classification for the cross-correlated two-coordinate
block (paper Sec. 5.1.2) over (η, α). Every grid is one jitted pass of
:func:`ascentjax.theory.classify_da` (``lax.map`` over
vmapped chunks). float32 by default (``--x64`` for float64).

Run ``python -m sims.da_atlas`` (defaults: 512×512 grids for the per-coordinate maps,
256×256 for the 2-D block, 2048 iterations per orbit) or
``python -m sims.da_atlas --n 64 --n2d 32 --n-bif 128`` for a quick look.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from sims._common import (
    add_output_flags,
    bounded,
    check_memory,
    check_representable,
    cli,
    exit_script,
    make_parser,
    markdown_table,
    open_output,
    positive_int,
    progress_bar,
    run_info,
    save_figure,
    stage,
    study_config,
    use_headless_matplotlib,
    write_text,
)
from sims._devices import add_devices_flag, configure_devices

STUDY = "da_atlas"
# orbits per compiled call on the (eta, .) grids: a progress tick every second or two
BLOCK_1D = 16384
BLOCK_2D = 4096
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
# The iterative-DA reference points (r = 0.05, λ = 0.01, w0 = 1) and their quoted values.
THEORY_POINTS = [
    (1.0, 0.06, "w* ≈ −0.45"),
    (1.0, 0.10, "w* ≈ −2.48"),
    (1.0, 0.15, "w* ≈ −3.02"),
    (1.0, 0.20, "w* ≈ −3.27"),
    (1.0, 0.30, "period 3 (−1.93, −2.98, −4.09)"),
    (0.1, 0.06, "w* ≈ −3.27"),
    (0.1, 0.10, "w* ≈ −4.90"),
    (0.1, 0.15, "w* ≈ −5.38"),
    (0.1, 0.20, "w* ≈ −5.62"),
    (0.1, 0.30, "aperiodic in ≈ [−6.5, −3.9]"),
]


# Largest accepted magnitudes: far beyond the regimes the atlas is about (every map has
# long diverged there), and small enough that the grids and axes stay finite in float32.
MAX_ETA = 1e6
MAX_LAM = 1e3
MAX_FR = 1e3
MAX_ALPHA = 1e3


def _rate(high: float) -> Any:
    return bounded(float, low=0.0, high=high, low_inclusive=False)


def build_parser() -> argparse.ArgumentParser:
    p = make_parser(
        "python -m sims.da_atlas",
        "Phase diagrams, bifurcation diagram and Lyapunov exponents of DA maps.",
    )
    p.add_argument(
        "--n", type=bounded(int, low=8), default=512, help="side of the 1-D grids (points, >= 8)"
    )
    p.add_argument(
        "--n2d", type=bounded(int, low=8), default=256, help="side of the 2-D grid (points, >= 8)"
    )
    p.add_argument(
        "--n-bif",
        type=bounded(int, low=8),
        default=1024,
        help="f values of the bifurcation diagram (>= 8)",
    )
    p.add_argument(
        "--iters",
        type=bounded(int, low=256),
        default=2048,
        help="iterations per orbit, transient plus recorded (>= 256)",
    )
    p.add_argument(
        "--record",
        type=bounded(int, low=192),
        default=256,
        help="recorded iterations per orbit, >= 128 + 2 --max-period and < --iters",
    )
    p.add_argument(
        "--max-period",
        type=bounded(int, low=1, high=32),
        default=32,
        help="longest cycle detected as periodic, in [1, 32]",
    )
    p.add_argument(
        "--r",
        type=bounded(float, low=0, high=1, low_inclusive=False),
        default=0.05,
        help="retain pull r of the per-coordinate map, in (0, 1]",
    )
    p.add_argument(
        "--lam",
        type=_rate(MAX_LAM),
        default=0.01,
        help=f"ridge lambda per half-step, in (0, {MAX_LAM:g}]",
    )
    p.add_argument(
        "--w0",
        type=bounded(float, low=-20, high=20),
        default=1.0,
        help="start of every per-coordinate orbit, in [-20, 20]",
    )
    p.add_argument(
        "--eta-min",
        type=_rate(MAX_ETA),
        default=0.1,
        help=f"smallest step size eta of the grids (log axis), in (0, {MAX_ETA:g}]",
    )
    p.add_argument(
        "--eta-max",
        type=_rate(MAX_ETA),
        default=100.0,
        help=f"largest step size eta of the grids (log axis), in (--eta-min, {MAX_ETA:g}]",
    )
    p.add_argument(
        "--fr-max",
        type=_rate(MAX_FR),
        default=8.0,
        help=f"largest forget/retain ratio f/r of the grids, in (0, {MAX_FR:g}]",
    )
    p.add_argument(
        "--fr",
        type=_rate(MAX_FR),
        default=2.0,
        help=f"f/r of the (eta, lambda) plane, in (0, {MAX_FR:g}]",
    )
    p.add_argument(
        "--lam-min",
        type=_rate(MAX_LAM),
        default=1e-3,
        help=f"smallest lambda of the (eta, lambda) plane (log axis), in (0, {MAX_LAM:g}]",
    )
    p.add_argument(
        "--lam-max",
        type=_rate(MAX_LAM),
        default=1.0,
        help=f"largest lambda of the (eta, lambda) plane, in (--lam-min, {MAX_LAM:g}]",
    )
    p.add_argument(
        "--bif-eta",
        type=_rate(MAX_ETA),
        nargs="+",
        default=[1.0, 0.1],
        help=f"step size(s) eta of the bifurcation diagrams, each in (0, {MAX_ETA:g}]",
    )
    p.add_argument(
        "--rho",
        type=bounded(float, low=0, high=1, high_inclusive=False),
        default=0.8,
        help="correlation rho of the 2-D block, in [0, 1)",
    )
    p.add_argument(
        "--alpha-max",
        type=_rate(MAX_ALPHA),
        default=0.4,
        help=f"largest alpha = |S_j| / |S_i| of the 2-D block grid, in (0, {MAX_ALPHA:g}]",
    )
    p.add_argument(
        "--chunk", type=positive_int, default=4096, help="orbits per vmapped chunk (>= 1)"
    )
    p.add_argument("--x64", action="store_true", help="float64 instead of float32")
    add_output_flags(p)
    add_devices_flag(p)
    return p


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.eta_min >= args.eta_max:
        parser.error("argument --eta-min: must be smaller than --eta-max")
    if args.lam_min >= args.lam_max:
        parser.error("argument --lam-min: must be smaller than --lam-max")
    if args.record >= args.iters:
        parser.error("argument --record: must be smaller than --iters")
    if args.record < 128 + 2 * args.max_period:
        parser.error("argument --record: must be at least 128 + 2 * --max-period")
    check_representable(parser, args, "float64" if args.x64 else "float32")
    size = 8 if args.x64 else 4
    # per grid point: the classifier's inputs and outputs, and the figure's mesh cell
    # (6 per-coordinate panels and the period map; 3 block panels)
    grid_1d = args.n**2 * (4 * 12 * size + 7 * 200)
    grid_2d = args.n2d**2 * 3 * (12 * size + 200)
    orbits = args.chunk * args.record * 2 * size * 3  # one chunk's recorded orbits
    bif = len(args.bif_eta) * args.n_bif * (128 * (size + 60) + 12 * size)
    flags = ["--n", "--n2d", "--n-bif", "--chunk", "--record", "--bif-eta"]
    check_memory(parser, args, grid_1d + grid_2d + orbits + bif, flags)


def _one(r: float, f: Any, lam: Any) -> Any:
    """The one-coordinate problem with r = |R_j|/|R|, f = alpha |R_j|/|F| and ridge lam."""
    return _fr_problem(r, f / r, lam)


def _fr_problem(r: float, fr: Any, lam_da: Any) -> Any:
    """The one-coordinate problem with r = |R_j|/|R|, f/r = alpha and L_DA ridge lam_da."""
    import ascentjax as aj

    return aj.OneCoordinate(fr, lam_da, block_size=r, n_retain=1.0, n_forget=1.0)


def _boundaries(r: float, lam: float) -> dict[str, float]:
    """f/r of the one-coordinate case boundaries (ridge 2λ; and λ for comparison)."""
    import ascentjax as aj

    lo, hi = aj.theory.case_boundaries(_fr_problem(r, 0.0, 2 * lam))
    _, hi_lam = aj.theory.case_boundaries(_fr_problem(r, 0.0, lam))
    return {"fr_case12": float(lo), "fr_case23_2lam": float(hi), "fr_case23_lam": float(hi_lam)}


def _flip_eta(r: float, fr: Any, lam: Any) -> np.ndarray:
    """η where gradient descent on L_DA (ridge 2λ) loses its minimum: η·L''(w_DA) = 2."""
    import ascentjax as aj

    fr, lam = np.broadcast_arrays(np.asarray(fr, float), np.asarray(lam, float))
    problem = _fr_problem(r, fr, 2 * lam)
    return np.asarray(aj.theory.descent_stability_limit(problem), dtype=float)


def _counts(codes: np.ndarray, regimes: tuple[str, ...]) -> dict[str, float]:
    flat = np.asarray(codes).ravel()
    return {name: float(np.mean(flat == k)) for k, name in enumerate(regimes)}


def run(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import ascentjax as aj

    dtype = jnp.float64 if args.x64 else jnp.float32
    n_tr = args.iters - args.record
    common = dict(
        n_transient=n_tr,
        n_record=args.record,
        max_period=args.max_period,
        chunk_size=args.chunk,
        dtype=dtype,
        w0=args.w0,
    )
    r, lam = args.r, args.lam
    eta = np.geomspace(args.eta_min, args.eta_max, args.n)
    fr = np.linspace(0.0, args.fr_max, args.n)
    lams = np.geomspace(args.lam_min, args.lam_max, args.n)
    timings: dict[str, float] = {}
    panels: dict[str, np.ndarray] = {}
    periods: dict[str, np.ndarray] = {}
    n_bif_runs = 2 * args.n_bif * len(args.bif_eta)
    total = 4 * args.n**2 + 2 * args.n + n_bif_runs + 2 * args.n2d**2 + args.n2d + 10
    bar = progress_bar(total=total, desc="da_atlas", unit="orbit", disable=args.no_progress)

    def timed(name: str, fn: Any, units: int) -> Any:
        bar.set_description(name)
        t0 = time.perf_counter()
        res = fn()
        jax.block_until_ready(res)
        timings[name] = time.perf_counter() - t0
        bar.update(units)
        return res

    def by_rows(name: str, fn: Any, rows: np.ndarray, n_cols: int, block: int) -> Any:
        """fn over consecutive blocks of ``rows`` (the grid's first axis), one bar tick each.

        Every block has the same length (the last is padded), so each grid compiles once.
        """
        bar.set_description(name)
        t0 = time.perf_counter()
        step = max(1, min(len(rows), block // n_cols))
        parts = []
        for lo in range(0, len(rows), step):
            part = rows[lo : lo + step]
            k = len(part)
            part = np.concatenate([part, np.repeat(part[-1:], step - k)])
            res = jax.block_until_ready(fn(part))
            parts.append(jax.tree_util.tree_map(lambda a, k=k: np.asarray(a)[:k], res))
            bar.update(k * n_cols)
        timings[name] = time.perf_counter() - t0
        return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *parts)

    for scheme in ("iterative", "simultaneous"):
        res = by_rows(
            f"{scheme}_eta_fr",
            lambda e, s=scheme: aj.theory.classify_da(
                _fr_problem(r, fr[None, :], lam), e[:, None], scheme=s, **common
            ),
            eta,
            args.n,
            BLOCK_1D,
        )
        panels[f"{scheme}_eta_fr"] = np.asarray(res.regime)
        periods[scheme] = np.asarray(res.period)
        res = by_rows(
            f"{scheme}_eta_lam",
            lambda e, s=scheme: aj.theory.classify_da(
                _fr_problem(r, args.fr, lams[None, :]), e[:, None], scheme=s, **common
            ),
            eta,
            args.n,
            BLOCK_1D,
        )
        panels[f"{scheme}_eta_lam"] = np.asarray(res.regime)
    # The flow does not depend on η: classify once per column and broadcast.
    res = timed(
        "flow_fr",
        lambda: aj.theory.classify_da(_fr_problem(r, fr, lam), 1.0, scheme="flow", **common),
        args.n,
    )
    panels["flow_eta_fr"] = np.broadcast_to(np.asarray(res.regime), (args.n, args.n))
    res = timed(
        "flow_lam",
        lambda: aj.theory.classify_da(_fr_problem(r, args.fr, lams), 1.0, scheme="flow", **common),
        args.n,
    )
    panels["flow_eta_lam"] = np.broadcast_to(np.asarray(res.regime), (args.n, args.n))

    # Bifurcation diagram and Lyapunov exponent against f.
    f_bif = np.linspace(0.0, args.fr_max * r, args.n_bif)
    bif = {}
    for e in args.bif_eta:
        orbit = timed(
            f"bifurcation_orbits_eta{e:g}",
            lambda e=e: aj.theory.da_orbit(
                _one(r, f_bif, lam), e, w0=args.w0, n_transient=n_tr, n_record=128, dtype=dtype
            ),
            args.n_bif,
        )
        cls = timed(
            f"bifurcation_classes_eta{e:g}",
            lambda e=e: aj.theory.classify_da(_one(r, f_bif, lam), e, **common),
            args.n_bif,
        )
        bif[e] = (np.asarray(orbit), np.asarray(cls.regime), np.asarray(cls.lyapunov))

    # Two-coordinate block (paper Sec. 5.1.2): (η, α).
    eta2 = np.geomspace(args.eta_min, args.eta_max, args.n2d)
    alpha = np.linspace(0.0, args.alpha_max, args.n2d)
    common2 = {k: v for k, v in common.items() if k != "w0"}
    for scheme in ("iterative", "simultaneous"):
        res = by_rows(
            f"block2d_{scheme}",
            lambda e, s=scheme: aj.theory.classify_da(
                aj.Block(args.rho, alpha[None, :], lam), e[:, None], scheme=s, **common2
            ),
            eta2,
            args.n2d,
            BLOCK_2D,
        )
        panels[f"block2d_{scheme}"] = np.asarray(res.regime)
    res = timed(
        "block2d_flow",
        lambda: aj.theory.classify_da(
            aj.Block(args.rho, alpha, lam), 1.0, scheme="flow", **common2
        ),
        args.n2d,
    )
    flow2 = np.asarray(res.regime)
    panels["block2d_flow"] = np.broadcast_to(flow2, (args.n2d, args.n2d))
    div = np.nonzero(flow2 == aj.theory.REGIMES.index("divergent"))[0]
    alpha_no_stat = float(alpha[div[0]]) if div.size else None

    # The iterative-DA reference points, with a long transient (η = 0.1 converges slowly).
    te = np.array([p[0] for p in THEORY_POINTS])
    tf = np.array([p[1] for p in THEORY_POINTS])
    ref = timed(
        "theory_points",
        lambda: aj.theory.classify_da(
            _one(0.05, tf, 0.01), te, **{**common, "n_transient": 30_000, "w0": 1.0}
        ),
        len(THEORY_POINTS),
    )
    theory_rows = []
    for k, (e, f, stated) in enumerate(THEORY_POINTS):
        theory_rows.append(
            {
                "eta": e,
                "f": f,
                "regime": aj.theory.REGIMES[int(ref.regime[k])],
                "period": int(ref.period[k]),
                "orbit_min": float(ref.orbit_min[k]),
                "orbit_max": float(ref.orbit_max[k]),
                "lyapunov": float(ref.lyapunov[k]),
                "stated": stated,
            }
        )

    bar.close()
    bounds = _boundaries(r, lam)
    with stage("drawing figures", disable=args.no_progress):
        figs = _figures(
            args, out, aj.theory.REGIMES, eta, fr, lams, panels, f_bif, bif, eta2, alpha, bounds
        )
        figs.append(_period_figure(args, out, eta, fr, periods["iterative"], bounds))
    cyc = periods["iterative"][panels["iterative_eta_fr"] == aj.theory.REGIMES.index("periodic")]
    period_counts = {int(p): int(c) for p, c in zip(*np.unique(cyc, return_counts=True))}
    summary = {
        "study": STUDY,
        "dtype": "float64" if args.x64 else "float32",
        "params": study_config(args),
        "regimes": list(aj.theory.REGIMES),
        "fractions": {k: _counts(v, aj.theory.REGIMES) for k, v in panels.items()},
        "iterative_eta_fr_period_counts": period_counts,
        "boundaries_fr": bounds,
        "boundary_lam_case23": float(np.e * r * (args.fr - 1) / 2) if args.fr > 1 else None,
        "block2d_alpha_flow_diverges_from": alpha_no_stat,
        "theory_points": theory_rows,
        "bifurcation": {
            f"{e:g}": {
                "max_lyapunov": float(np.nanmax(v[2])),
                "f_at_max_lyapunov": float(f_bif[int(np.nanargmax(v[2]))]),
                "fractions": _counts(v[1], aj.theory.REGIMES),
            }
            for e, v in bif.items()
        },
        "figures": [Path(f).name for f in figs],
    }
    return summary, timings


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


def _period_figure(args, out, eta, fr, period, bounds) -> str:
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


def _figures(args, out, regimes, eta, fr, lams, panels, f_bif, bif, eta2, alpha, bounds):
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
    flip_fr = _flip_eta(r, fr, lam)
    flip_lam = _flip_eta(r, args.fr, lams)
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


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_devices(args.devices)  # before JAX starts: one CPU device per core
    _check(parser, args)
    out = open_output(parser, args.out, STUDY, args.overwrite)
    use_headless_matplotlib()
    t0 = time.perf_counter()
    summary, timings = run(args, out.dir)
    regimes = summary["regimes"]
    rows = [[k] + [v[n] for n in regimes] for k, v in summary["fractions"].items()]
    table = "## Fraction of each regime per panel\n\n" + markdown_table(
        ["panel", *regimes], rows, floatfmt=".3f"
    )
    trows = [
        [
            t["eta"],
            t["f"],
            t["regime"],
            t["period"],
            t["orbit_min"],
            t["orbit_max"],
            t["lyapunov"],
            t["stated"],
        ]
        for t in summary["theory_points"]
    ]
    table += "\n## Reference points of the iterative DA map (r = 0.05, λ = 0.01, w0 = 1)\n\n"
    table += markdown_table(
        ["η", "f", "regime", "period", "orbit min", "orbit max", "Lyapunov", "expected"],
        trows,
        floatfmt=".4g",
    )
    write_text(out / "table.md", table)
    compute = float(sum(timings.values()))
    wall = time.perf_counter() - t0
    info = run_info(
        STUDY,
        argv,
        dtype=summary["dtype"],
        timings_s={**timings, "total_compute": compute},
        wall_s=wall,
    )
    final = out.finish(summary, info)
    print(table)
    print(f"compute {compute:.1f} s, wall {wall:.1f} s")
    print(f"wrote {final}/summary.json, table.md, " + ", ".join(summary["figures"]))
    return 0


if __name__ == "__main__":
    exit_script(main)
