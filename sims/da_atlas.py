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

from sims import _da_atlas_report as report
from sims._common import (
    StageTimer,
    add_flags,
    add_run_flags,
    bounded,
    check_memory,
    check_representable,
    cli,
    dtype_name,
    exit_script,
    make_parser,
    open_output,
    parse_flags,
    positive_int,
    run_info,
    stage,
    study_config,
    use_headless_matplotlib,
    write_text,
)

# the documentation draws its own panels with these
from sims._da_atlas_report import line_handles as line_handles
from sims._da_atlas_report import line_style as line_style
from sims._da_atlas_report import regime_handles as regime_handles
from sims._da_atlas_report import regime_panel as regime_panel

STUDY = "da_atlas"
# orbits per compiled call on the (eta, .) grids: a progress tick every second or two
BLOCK_1D = 16384
BLOCK_2D = 4096
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
    # fmt: off
    add_flags(p, [
        ("--n", bounded(int, low=8), 512, "side of the 1-D grids (points, >= 8)"),
        ("--n2d", bounded(int, low=8), 256, "side of the 2-D grid (points, >= 8)"),
        ("--n-bif", bounded(int, low=8), 1024, "f values of the bifurcation diagram (>= 8)"),
        ("--iters", bounded(int, low=256), 2048,
         "iterations per orbit, transient plus recorded (>= 256)"),
        ("--record", bounded(int, low=192), 256,
         "recorded iterations per orbit, >= 128 + 2 --max-period and < --iters"),
        ("--max-period", bounded(int, low=1, high=32), 32,
         "longest cycle detected as periodic, in [1, 32]"),
        ("--r", bounded(float, low=0, high=1, low_inclusive=False), 0.05,
         "retain pull r of the per-coordinate map, in (0, 1]"),
        ("--lam", _rate(MAX_LAM), 0.01, f"ridge lambda per half-step, in (0, {MAX_LAM:g}]"),
        ("--w0", bounded(float, low=-20, high=20), 1.0,
         "start of every per-coordinate orbit, in [-20, 20]"),
        ("--eta-min", _rate(MAX_ETA), 0.1,
         f"smallest step size eta of the grids (log axis), in (0, {MAX_ETA:g}]"),
        ("--eta-max", _rate(MAX_ETA), 100.0,
         f"largest step size eta of the grids (log axis), in (--eta-min, {MAX_ETA:g}]"),
        ("--fr-max", _rate(MAX_FR), 8.0,
         f"largest forget/retain ratio f/r of the grids, in (0, {MAX_FR:g}]"),
        ("--fr", _rate(MAX_FR), 2.0, f"f/r of the (eta, lambda) plane, in (0, {MAX_FR:g}]"),
        ("--lam-min", _rate(MAX_LAM), 1e-3,
         f"smallest lambda of the (eta, lambda) plane (log axis), in (0, {MAX_LAM:g}]"),
        ("--lam-max", _rate(MAX_LAM), 1.0,
         f"largest lambda of the (eta, lambda) plane, in (--lam-min, {MAX_LAM:g}]"),
        ("--bif-eta", _rate(MAX_ETA), [1.0, 0.1],
         f"step size(s) eta of the bifurcation diagrams, each in (0, {MAX_ETA:g}]",
         dict(nargs="+")),
        ("--rho", bounded(float, low=0, high=1, high_inclusive=False), 0.8,
         "correlation rho of the 2-D block, in [0, 1)"),
        ("--alpha-max", _rate(MAX_ALPHA), 0.4,
         f"largest alpha = |S_j| / |S_i| of the 2-D block grid, in (0, {MAX_ALPHA:g}]"),
        ("--chunk", positive_int, 4096, "orbits per vmapped chunk (>= 1)"),
    ])
    # fmt: on
    p.add_argument("--x64", action="store_true", help="float64 instead of float32")
    add_run_flags(p)
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
    check_representable(parser, args, dtype_name(args.x64))
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
    panels: dict[str, np.ndarray] = {}
    periods: dict[str, np.ndarray] = {}
    n_bif_runs = 2 * args.n_bif * len(args.bif_eta)
    total = 4 * args.n**2 + 2 * args.n + n_bif_runs + 2 * args.n2d**2 + args.n2d + 10
    stages = StageTimer(total, "da_atlas", unit="orbit", disable=args.no_progress)
    timed, by_rows = stages.call, stages.rows

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

    stages.close()
    bounds = _boundaries(r, lam)
    flips = (_flip_eta(r, fr, lam), _flip_eta(r, args.fr, lams))
    with stage("drawing figures", disable=args.no_progress):
        figs = report.figures(
            args,
            out,
            aj.theory.REGIMES,
            eta,
            fr,
            lams,
            panels,
            f_bif,
            bif,
            eta2,
            alpha,
            bounds,
            flips,
        )
        figs.append(report.period_figure(args, out, eta, fr, periods["iterative"], bounds))
    cyc = periods["iterative"][panels["iterative_eta_fr"] == aj.theory.REGIMES.index("periodic")]
    period_counts = {int(p): int(c) for p, c in zip(*np.unique(cyc, return_counts=True))}
    summary = {
        "study": STUDY,
        "dtype": dtype_name(args.x64),
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
    return summary, stages.timings


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_flags(parser, argv, _check)
    out = open_output(parser, args.out, STUDY, args.overwrite)
    use_headless_matplotlib()
    t0 = time.perf_counter()
    summary, timings = run(args, out.dir)
    table = report.table(summary)
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
