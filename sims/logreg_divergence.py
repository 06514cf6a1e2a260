"""Descent–ascent moves *away* from the oracle on the cross-correlated block (paper Sec. 5.1.2).

Run ``python -m sims.logreg_divergence --rho 0.8`` (``--help`` for the flags). For each
``--rho`` (the paper's correlation strength :math:`\\varepsilon`) it

1. solves the pretrained, oracle and DA stationarity systems exactly
   (:func:`ascentjax.theory.solve`) and prints weights, margins, distances to the oracle,
   whether DA is ordered on the wrong side of the pretrained model (detrimental), the
   Lemma 9 and Lemma 10 thresholds and the detrimental :math:`\\alpha`-window (exact and
   from the lemmas);
2. simulates: builds the actual two-dimensional logistic-regression data set of the block
   (orthogonal filler as zero rows with weights, feature noise ``--noise`` per seed),
   trains the pretrained and the oracle model by gradient descent, runs the chosen DA
   method from the pretrained model, all seeds at once (one compiled ``vmap``), tracking
   each seed's distance to its own oracle, and counts the seeds that end farther from the
   oracle than they started;
3. writes ``summary.json``, ``divergence.png`` (margin plane with DA trajectories,
   distance to the oracle vs step with seed bands, the :math:`\\alpha`-window vs
   :math:`\\varepsilon` as in the paper's Fig. 4) and ``table.md`` into ``--out`` (one
   sub-directory ``rho=<value>`` per value when several are given, plus a combined figure).

Everything runs in float64 (the CLI enables x64; the library itself never does).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

import numpy as np

from sims._common import (
    EXIT_DIVERGED,
    SEED_MAX,
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
    progress,
    run_info,
    save_figure,
    seed_int,
    stage,
    unit_interval_open_right,
    use_headless_matplotlib,
    write_json,
    write_text,
)
from sims._devices import add_devices_flag, configure_devices

STUDY = "logreg_divergence"
RHO_GRID = np.round(np.arange(0.025, 0.9751, 0.025), 4)  # exact window scans, rho panel
RHO_FINE = np.linspace(0.01, 0.99, 393)  # closed-form lemma thresholds, rho panel
N_OBS = 100  # recorded points along each trajectory
N_ALPHA = 200  # alpha grid of the window scans
CHUNK = 256  # seeds per compiled chunk of the simulation
# Largest accepted magnitudes: far beyond any meaningful setting (with lambda = 1e3 every
# model is within 1e-3 of 0), yet small enough that the exact solver and the thresholds
# stay finite in float64; a training stage they destabilise is flagged as diverged.
MAX_LAM = 1e3
MAX_LR = 1e6
MAX_NOISE = 1e3
MAX_ALPHA = 1e6


def build_parser() -> argparse.ArgumentParser:
    p = make_parser(
        "python -m sims.logreg_divergence",
        "Cross-correlated block (paper Sec. 5.1.2, Lemmas 6-10, Fig. 4): exact pretrained, "
        "oracle and DA points, the detrimental alpha-window, and a simulated DA sweep.",
    )
    p.add_argument(
        "--rho",
        type=unit_interval_open_right,
        nargs="+",
        default=[0.8],
        help="correlation strength(s) epsilon of the block, each in [0, 1)",
    )
    p.add_argument(
        "--alpha",
        type=bounded(float, low=0.0, high=MAX_ALPHA),
        default=0.05,
        help="forget-block size as a fraction of the retain block, alpha = |S_j| / |S_i|, "
        f"in [0, {MAX_ALPHA:g}] and at most --n-forget / --block-size",
    )
    p.add_argument(
        "--lam",
        type=bounded(float, low=0.0, high=MAX_LAM, low_inclusive=False),
        default=0.01,
        help=f"ridge strength lambda, in (0, {MAX_LAM:g}]",
    )
    p.add_argument(
        "--block-size",
        type=positive_int,
        default=50,
        help="retain-block size |S_i| (samples, >= 1); the forget block has alpha |S_i|",
    )
    p.add_argument(
        "--n-retain",
        type=positive_int,
        default=900,
        help="retain-set size |R| (samples, >= --block-size); the rest is orthogonal filler",
    )
    p.add_argument(
        "--n-forget",
        type=positive_int,
        default=100,
        help="forget-set size |F| (samples, >= alpha --block-size)",
    )
    p.add_argument(
        "--loss", choices=("exp", "logistic"), default="exp", help="margin loss of every stage"
    )
    p.add_argument(
        "--method",
        choices=("simultaneous", "iterative"),
        default="simultaneous",
        help="DA method simulated from the pretrained model",
    )
    p.add_argument("--seeds", type=positive_int, default=1024, help="simulated seeds (>= 1)")
    p.add_argument(
        "--noise",
        type=bounded(float, low=0.0, high=MAX_NOISE),
        default=0.05,
        help=f"standard deviation of the feature noise added per seed, in [0, {MAX_NOISE:g}]",
    )
    p.add_argument(
        "--steps",
        type=positive_int,
        default=1000,
        help="gradient steps for pretraining, retraining and DA each (>= 1)",
    )
    p.add_argument(
        "--lr",
        type=bounded(float, low=0.0, high=MAX_LR, low_inclusive=False),
        default=10.0,
        help=f"step size, in (0, {MAX_LR:g}]; the objectives are averages with ridge ~lambda, "
        "so O(10) is stable",
    )
    p.add_argument("--seed", type=seed_int, default=0, help=f"PRNG seed, in [0, {SEED_MAX}]")
    add_output_flags(p)
    add_devices_flag(p)
    return p


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.n_retain < args.block_size:
        parser.error(
            f"argument --n-retain: must be >= --block-size ({args.block_size}), got {args.n_retain}"
        )
    if args.n_forget < args.alpha * args.block_size:
        parser.error(
            f"argument --n-forget: must be >= alpha * block_size "
            f"({args.alpha * args.block_size:g}), got {args.n_forget}"
        )
    check_representable(parser, args, "float64")
    # per seed on the host: the recorded path, its distances and the endpoints, held twice
    # (chunks + concatenation) plus the quantile workspace; per chunk on the device:
    # 2 |S_i| + 2 rows of (x, y, forget, weight) and the workspace of three stages
    host = args.seeds * (3 * 8 * (N_OBS + 1) + 64) * 3
    device = min(args.seeds, CHUNK) * (2 * args.block_size + 2) * 33 * 8
    check_memory(parser, args, host + device, ["--seeds", "--block-size"])


# ----------------------------------------------------------------------------- exact part
def _exact(rho: float, args: argparse.Namespace) -> dict[str, Any]:
    import jax.numpy as jnp

    import ascentjax as aj

    counts = (float(args.block_size), float(args.n_retain), float(args.n_forget))
    block = aj.Block(rho, args.alpha, args.lam, *counts, loss=args.loss)
    sol = aj.theory.solve(block)

    def point(p: Any) -> dict[str, list[float]]:
        return {
            "weights": np.asarray(p.weights).tolist(),
            "margins": np.asarray(p.margins).tolist(),
        }

    reached = bool(sol.da.reached)
    a10x, a10y = aj.theory.lemma10_thresholds(block)
    a9 = float(aj.theory.lemma9_threshold(block))
    a10 = float(min(a10x, a10y))
    exp_only = args.loss == "exp"
    a_exist = float(aj.theory.da_existence_threshold(block)) if exp_only else math.inf
    a8 = float(aj.theory.lemma8_nonexistence_alpha(block)) if exp_only else math.inf
    # exact window at this rho on a fine alpha grid
    a_max = min(a8 if exp_only else 1.0, counts[2] / counts[0]) * 1.05
    alphas = jnp.linspace(a_max / N_ALPHA, a_max, N_ALPHA)  # same shape as the rho panel:
    scan = aj.theory.window_scan(block, alphas, grid_size=256)  # one compilation serves both
    exact_window = aj.theory.window_edges(alphas, scan.ordered)
    lemma_lo, lemma_hi = a9, min(a10, a_exist)
    lemma_empty = not (lemma_lo <= lemma_hi)
    return {
        "exact": {
            "pretrained": point(sol.pretrained),
            "oracle": point(sol.oracle),
            "da": point(sol.da) if reached else None,
            "da_stationary": bool(sol.da.stationary),
            "ordered": bool(sol.ordered),
            "dist_pretrained_oracle": float(sol.dist_pretrained_oracle),
            "dist_da_oracle": float(sol.dist_da_oracle) if reached else None,
        },
        "thresholds": {
            "lemma9_alpha": a9,
            "lemma10_alpha": a10,
            "lemma10_alpha_x": float(a10x),
            "lemma10_alpha_y": float(a10y),
            "lemma10_sufficient_alpha": (
                float(aj.theory.lemma10_sufficient_threshold(block)) if exp_only else None
            ),
            "da_existence_alpha": a_exist if exp_only else None,
            "lemma8_nonexistence_alpha": a8 if exp_only else None,
        },
        "window": {
            "exact": None if math.isnan(exact_window[0]) else list(exact_window),
            "lemma": None if lemma_empty else [lemma_lo, lemma_hi],
            "lemma_raw": [a9, a10],
            "lemma_empty": lemma_empty,
            "alpha_grid_step": float(alphas[1] - alphas[0]),
        },
    }


def _window_vs_rho(args: argparse.Namespace, disable: bool) -> dict[str, Any]:
    """Exact window, DA existence and lemma thresholds on RHO_GRID (the Fig. 4 analogue)."""
    import jax.numpy as jnp

    import ascentjax as aj

    counts = (float(args.block_size), float(args.n_retain), float(args.n_forget))
    exp_only = args.loss == "exp"
    rhos = jnp.asarray(RHO_GRID)
    if exp_only:
        a8 = np.asarray(aj.theory.lemma8_nonexistence_alpha(aj.Block(rhos, 0.0, args.lam, *counts)))
        a_max = float(min(np.max(a8), counts[2] / counts[0]) * 1.05)
    else:
        a_max = float(min(0.3, counts[2] / counts[0]))
    alphas = jnp.linspace(a_max / N_ALPHA, a_max, N_ALPHA)
    rows = []
    for rho in progress(RHO_GRID, desc="alpha-window vs rho", disable=disable):
        block = aj.Block(float(rho), 0.0, args.lam, *counts, loss=args.loss)
        scan = aj.theory.window_scan(block, alphas, grid_size=256)
        rows.append(
            (
                aj.theory.window_edges(alphas, scan.ordered),
                aj.theory.window_edges(alphas, ~scan.da_stationary),
            )
        )
    # The lemma thresholds are closed forms: evaluated on a fine grid, so that the corner
    # of Lemma 9's max{.,.} sits where it is, not at a grid point.
    fine = jnp.asarray(RHO_FINE)
    fine_blocks = aj.Block(fine, 0.0, args.lam, *counts)
    a9 = np.asarray(aj.theory.lemma9_threshold(fine_blocks))
    a10 = np.minimum(*(np.asarray(t) for t in aj.theory.lemma10_thresholds(fine_blocks)))
    return {
        "rho": RHO_GRID.tolist(),
        "exact_lo": [r[0][0] for r in rows],
        "exact_hi": [r[0][1] for r in rows],
        "no_da_from": [r[1][0] for r in rows],
        "rho_fine": RHO_FINE.tolist(),
        "lemma9": a9.tolist(),
        "lemma10": a10.tolist(),
    }


# ----------------------------------------------------------------------------- simulation
def _simulate(rho: float, args: argparse.Namespace, disable: bool) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    steps = args.steps
    stride = max(d for d in range(1, min(steps, N_OBS) + 1) if steps % d == 0)
    stride = steps // stride  # observation every `stride` steps, at most N_OBS points
    lam, lr, loss = args.lam, args.lr, args.loss

    def one_seed(key: jax.Array) -> dict[str, jax.Array]:
        data = aj.cross_correlated_data(
            key,
            rho,
            args.alpha,
            block_size=args.block_size,
            n_retain=args.n_retain,
            n_forget=args.n_forget,
            noise=args.noise,
            dtype=jnp.float64,
        )
        w0 = jnp.zeros(2, jnp.float64)
        pre_run = aj.run_rule(aj.pretrain(lr, lam=lam, loss=loss), w0, data, steps=steps)
        ora_run = aj.run_rule(aj.retrain(lr, lam=lam, loss=loss), w0, data, steps=steps)
        pre, ora = pre_run.final, ora_run.final
        if args.method == "simultaneous":
            rule = aj.simultaneous_da(lr, lam=lam, loss=loss)
        else:
            rule = aj.iterative_da(lr, lam=lam, loss=loss)
        traj = aj.run_rule(rule, pre, data, steps=steps, stride=stride)
        path = jnp.concatenate([pre[None], traj.observed])
        return {
            "pretrained": pre,
            "oracle": ora,
            "path": path,
            "dist": jnp.linalg.norm(path - ora, axis=-1),
            "diverged": traj.diverged,
            "pretrain_diverged": pre_run.diverged,
            "oracle_diverged": ora_run.diverged,
        }

    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    chunk = min(args.seeds, CHUNK)
    n_chunks = -(-args.seeds // chunk)
    run = jax.jit(jax.vmap(one_seed))
    parts = []
    for c in progress(range(n_chunks), desc=f"simulate rho={rho:g}", disable=disable):
        k = keys[c * chunk : (c + 1) * chunk]
        if k.shape[0] < chunk:  # pad the last chunk so the compiled shape is reused
            k = jnp.concatenate([k, keys[: chunk - k.shape[0]]])
        parts.append(jax.tree_util.tree_map(np.asarray, run(k)))
    out = {name: np.concatenate([p[name] for p in parts])[: args.seeds] for name in parts[0]}
    dist = out["dist"]
    farther = dist[:, -1] > dist[:, 0]
    return {
        "steps": steps,
        "stride": stride,
        "step": (np.arange(dist.shape[1]) * stride).tolist(),
        "farther_fraction": float(np.mean(farther)),
        "farther_count": int(np.sum(farther)),
        "diverged_fraction": float(np.mean(out["diverged"])),
        "diverged_count": int(np.sum(out["diverged"])),
        "pretrain_diverged_count": int(np.sum(out["pretrain_diverged"])),
        "oracle_diverged_count": int(np.sum(out["oracle_diverged"])),
        "dist_to_oracle": {
            "mean": dist.mean(0).tolist(),
            "q05": np.quantile(dist, 0.05, axis=0).tolist(),
            "q95": np.quantile(dist, 0.95, axis=0).tolist(),
        },
        "final_mean": {
            "pretrained": out["pretrained"].mean(0).tolist(),
            "oracle": out["oracle"].mean(0).tolist(),
            "da": out["path"][:, -1].mean(0).tolist(),
        },
        "_paths": out["path"][: min(args.seeds, 24)],
        "_endpoints": {k: out[k] for k in ("pretrained", "oracle")} | {"da": out["path"][:, -1]},
    }


# ----------------------------------------------------------------------------- reporting
def _fmt(v: float | None, spec: str = ".4f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return format(v, spec)


def _table(rho: float, res: dict[str, Any], args: argparse.Namespace) -> str:
    ex, th, win, sim = res["exact"], res["thresholds"], res["window"], res["simulation"]
    rows = []
    for name, key, dist in (
        ("pretrained", "pretrained", ex["dist_pretrained_oracle"]),
        ("oracle", "oracle", 0.0),
        ("DA", "da", ex["dist_da_oracle"]),
    ):
        p = ex[key]
        if p is None:
            rows.append([name, "—", "—", "—", "—", "diverges"])
        else:
            (wi, wj), (x, y) = p["weights"], p["margins"]
            rows.append([name, _fmt(wi), _fmt(wj), _fmt(x), _fmt(y), _fmt(dist)])
    head = (
        f"### rho = {rho:g} (alpha = {args.alpha:g}, lambda = {args.lam:g}, |S_i| = "
        f"{args.block_size}, |R| = {args.n_retain}, |F| = {args.n_forget}, loss = {args.loss})\n\n"
    )
    table = markdown_table(
        ["model", "w_i", "w_j", "retain margin x", "forget margin y", "dist to oracle"], rows
    )
    ordered = "yes: DA is detrimental" if ex["ordered"] else "no"
    exact_w = win["exact"]
    lemma_w = win["lemma"]
    lines = [
        f"- DA stationary point exists: {'yes' if ex['da_stationary'] else 'no'}; "
        f"ordered (x_DA <= x_D <= x_R and y_DA <= y_D <= y_R): {ordered}",
        f"- Lemma 9 (DA <= pretrained) needs alpha >= {_fmt(th['lemma9_alpha'])}; "
        f"Lemma 10 (oracle >= pretrained) holds for alpha <= {_fmt(th['lemma10_alpha'])}",
        f"- no DA stationary point for alpha > {_fmt(th['da_existence_alpha'])} "
        f"(Lemma 8 proves it beyond {_fmt(th['lemma8_nonexistence_alpha'])})",
        "- detrimental alpha-window (exact, grid step "
        f"{win['alpha_grid_step']:.2g}): "
        + ("empty" if exact_w is None else f"[{exact_w[0]:.4f}, {exact_w[1]:.4f}]"),
        "- lemma window [Lemma 9, min(Lemma 10, DA existence)]: "
        + (
            "EMPTY (Lemma 9's threshold lies beyond Lemma 10 or where DA has no stationary point)"
            if lemma_w is None
            else f"[{lemma_w[0]:.4f}, {lemma_w[1]:.4f}]"
        ),
        f"- simulation ({args.method} DA, {args.seeds} seeds, noise {args.noise:g}, "
        f"{sim['steps']} steps, lr {args.lr:g}): "
        + (
            "not compared: the reference models diverged (see below)"
            if _reference_diverged(sim)
            else f"{sim['farther_count']} of {args.seeds} seeds "
            f"({100 * sim['farther_fraction']:.1f}%) end farther from their oracle than they "
            "started"
        ),
        f"- diverged (|w| > 1e6 or non-finite): pretraining {sim['pretrain_diverged_count']}, "
        f"oracle (retraining) {sim['oracle_diverged_count']}, DA {sim['diverged_count']} "
        f"of {args.seeds} seeds",
    ]
    warn = ""
    if _reference_diverged(sim):
        warn = (
            f"**Reference models diverged** (pretraining in {sim['pretrain_diverged_count']}, "
            f"the oracle in {sim['oracle_diverged_count']} of {args.seeds} seeds): lower --lr "
            "or --lam; the simulated distances compare against garbage.\n\n"
        )
    return head + warn + table + "\n" + "\n".join(lines) + "\n"


def _reference_diverged(sim: dict[str, Any]) -> bool:
    return bool(sim["pretrain_diverged_count"] or sim["oracle_diverged_count"])


def _margin(path: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    return path[..., 0] + rho * path[..., 1], rho * path[..., 0] + path[..., 1]


def _draw_window(ax: Any, wv: dict[str, Any], marks: list[tuple[float, float]]) -> None:
    from sims import _figures as F

    rho = np.asarray(wv["rho"])
    fine = np.asarray(wv["rho_fine"])
    lo, hi = np.asarray(wv["exact_lo"], float), np.asarray(wv["exact_hi"], float)
    ax.fill_between(
        rho, lo, hi, color=F.ROLE["da"], alpha=0.3, lw=0, label="exact detrimental window"
    )
    exist = np.asarray(wv["no_da_from"], float)
    ax.plot(rho, exist, "--", color=F.BLACK, label="no DA stationary point above")
    a9, a10 = np.asarray(wv["lemma9"]), np.asarray(wv["lemma10"])
    ax.plot(fine, a9, color=F.BLUE, label="Lemma 9 threshold")
    ax.plot(fine, a10, color=F.GREEN, label="Lemma 10 threshold")
    exist_fine = np.interp(fine, rho, np.where(np.isnan(exist), np.inf, exist))
    top = np.fmin(a10, exist_fine)
    ok = a9 <= top
    if ok.any():
        ax.fill_between(
            fine,
            a9,
            top,
            where=ok,
            interpolate=True,
            color=F.BLUE,
            alpha=0.3,
            lw=0,
            label="lemma window (non-empty)",
        )
    else:
        ax.plot([], [], " ", label="lemma window: empty for every $\\varepsilon$")
    for r, a in marks:
        ax.plot([r], [a], "*", color=F.BLACK, ms=11, label="this run")
    ymax = np.nanmax(np.concatenate([hi, exist, a10]))
    ax.set_ylim(0, 1.1 * ymax)
    ax.set_xlim(0, 1)
    ax.set_xlabel(r"correlation $\varepsilon$ (--rho)")
    ax.set_ylabel(r"$\alpha = |S_j|/|S_i|$")
    ax.set_title(r"$\alpha$-window vs $\varepsilon$ (paper Fig. 4)")


def _figure(rho: float, res: dict[str, Any], wv: dict[str, Any], args: argparse.Namespace) -> Any:
    from sims import _figures as F

    ex, sim = res["exact"], res["simulation"]
    fig, axes = F.subplots(1, 3, panel=(4.0, 3.3))
    ax = axes[0, 0]
    c_da = F.ROLE["simulation"]
    for path in sim["_paths"]:
        x, y = _margin(path, rho)
        ax.plot(x, y, color=c_da, alpha=0.35, lw=0.8)
    ax.plot([], [], color=c_da, label=f"{args.method} DA paths (one per seed)")
    for key, color, label in (
        ("pretrained", F.ROLE["pretrained"], "pretrained $w_D$ (exact)"),
        ("oracle", F.ROLE["oracle"], "oracle $w_R$ (exact)"),
        ("da", F.ROLE["da"], "DA stationary point (exact)"),
    ):
        if ex[key] is not None:
            x, y = ex[key]["margins"]
            ax.plot([x], [y], "o", color=color, ms=8, label=label, zorder=5)
    pts = np.array([ex[k]["margins"] for k in ("pretrained", "oracle", "da") if ex[k]])
    lo, hi = pts.min(0), pts.max(0)
    if ex["da"] is None:  # DA diverges: show where the paths leave the frame
        lo = lo - 1.0
    pad = 0.15 * max(float(np.max(hi - lo)), 0.05)
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_xlabel("retain margin $x$")
    ax.set_ylabel("forget margin $y$")
    ax.set_title("margin plane" if ex["da"] is not None else "margin plane (DA diverges)")
    ax = axes[0, 1]
    step = np.asarray(sim["step"])
    d = sim["dist_to_oracle"]
    ax.fill_between(
        step, d["q05"], d["q95"], color=c_da, alpha=0.3, lw=0, label="DA: 5–95 % of seeds"
    )
    ax.plot(step, d["mean"], color=c_da, label="DA: mean of seeds")
    ax.axhline(
        ex["dist_pretrained_oracle"], color=F.ROLE["pretrained"], ls=":", label="exact $|w_D-w_R|$"
    )
    if ex["dist_da_oracle"] is not None:
        ax.axhline(ex["dist_da_oracle"], color=F.ROLE["da"], ls=":", label="exact $|w_{DA}-w_R|$")
    ax.set_xlabel("DA step")
    ax.set_ylabel("distance to the seed's oracle")
    ax.set_title(f"{100 * sim['farther_fraction']:.0f}% of seeds end farther than they started")
    if np.nanmax(d["q95"]) > 50 * max(np.nanmin(d["q05"]), 1e-12):
        ax.set_yscale("log")
    _draw_window(axes[0, 2], wv, [(rho, args.alpha)])
    lw, xw = res["window"]["lemma"], res["window"]["exact"]
    fig.suptitle(
        rf"$\varepsilon$ = {rho:g}, $\alpha$ = {args.alpha:g}, $\lambda$ = {args.lam:g}, "
        f"{args.loss} loss"
    )
    F.legend_below(
        fig,
        ncol=4,
        note=(
            rf"At $\varepsilon$ = {rho:g}: exact detrimental window "
            + ("empty" if xw is None else f"[{xw[0]:.3f}, {xw[1]:.3f}]")
            + ", lemma window "
            + ("empty" if lw is None else f"[{lw[0]:.3f}, {lw[1]:.3f}]")
            + ". Left: each orange path is one seed's DA run from its pretrained model; the "
            "dots are the exact points of the noise-free block."
        ),
    )
    return fig


def _combined_figure(results: dict[float, dict], wv: dict[str, Any], args: argparse.Namespace):
    from sims import _figures as F

    fig, axes = F.subplots(1, 2, panel=(4.6, 3.3))
    colors = F.discrete_colors(len(results), lo=0.0, hi=0.85)
    for (rho, res), c in zip(results.items(), colors):
        sim = res["simulation"]
        d = sim["dist_to_oracle"]
        axes[0, 0].plot(sim["step"], d["mean"], color=c, label=rf"$\varepsilon$ = {rho:g}")
        axes[0, 0].fill_between(sim["step"], d["q05"], d["q95"], color=c, alpha=0.2, lw=0)
    axes[0, 0].set_xlabel("DA step")
    axes[0, 0].set_ylabel("distance to the seed's oracle")
    axes[0, 0].set_yscale("log")
    axes[0, 0].set_title("mean and 5–95 % of seeds")
    _draw_window(axes[0, 1], wv, [(r, args.alpha) for r in results])
    F.legend_below(fig, ncol=4)
    return fig


def _summary(rho: float, res: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    sim = {k: v for k, v in res["simulation"].items() if not k.startswith("_")}
    return {
        "config": {
            "rho": rho,
            "alpha": args.alpha,
            "lam": args.lam,
            "block_size": args.block_size,
            "n_retain": args.n_retain,
            "n_forget": args.n_forget,
            "loss": args.loss,
            "method": args.method,
            "seeds": args.seeds,
            "noise": args.noise,
            "steps": args.steps,
            "lr": args.lr,
            "seed": args.seed,
        },
        "exact": res["exact"],
        "thresholds": res["thresholds"],
        "window": res["window"],
        "simulation": sim,
    }


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_devices(args.devices)  # before JAX starts: one CPU device per core
    _validate(parser, args)
    out = open_output(parser, args.out, STUDY, args.overwrite)

    import jax

    jax.config.update("jax_enable_x64", True)  # the CLI runs its checks in float64
    use_headless_matplotlib()
    t0 = time.perf_counter()
    disable = args.no_progress
    rhos = list(dict.fromkeys(args.rho))
    wv = _window_vs_rho(args, disable)
    timings = {"window_vs_rho": time.perf_counter() - t0}
    results: dict[float, dict[str, Any]] = {}
    tables, summaries = [], {}
    for rho in rhos:
        ts = time.perf_counter()
        with stage(f"exact stationary points and thresholds, rho={rho:g}", disable=disable):
            res = _exact(rho, args)
        res["simulation"] = _simulate(rho, args, disable)
        timings[f"rho={rho:g}"] = time.perf_counter() - ts
        results[rho] = res
        table = _table(rho, res, args)
        tables.append(table)
        summaries[rho] = _summary(rho, res, args)
        if len(rhos) > 1:
            where = out.dir / f"rho={rho:g}"
            with stage(f"drawing rho={rho:g}/divergence.png", disable=disable):
                save_figure(_figure(rho, res, wv, args), where / "divergence.png")
            write_text(where / "table.md", table)
            write_json(where / "summary.json", summaries[rho])
        print(table)
    if len(rhos) > 1:
        with stage("drawing divergence.png", disable=disable):
            save_figure(_combined_figure(results, wv, args), out / "divergence.png")
        summary = {"rho": rhos, "by_rho": {f"{r:g}": summaries[r] for r in rhos}}
    else:
        with stage("drawing divergence.png", disable=disable):
            save_figure(_figure(rhos[0], results[rhos[0]], wv, args), out / "divergence.png")
        summary = summaries[rhos[0]]
    write_json(out / "window_vs_rho.json", wv)
    write_text(out / "table.md", "\n".join(tables))
    wall = time.perf_counter() - t0
    info = run_info(STUDY, argv, dtype="float64", timings_s=timings, wall_s=wall)
    final = out.finish(summary, info)
    print(f"wrote {final} ({wall:.1f} s)")
    diverged = [r for r in rhos if _reference_diverged(results[r]["simulation"])]
    if diverged:
        print(
            "reference models diverged at rho = "
            + ", ".join(f"{r:g}" for r in diverged)
            + ": the simulated comparison is void (exit status 1)",
            file=sys.stderr,
        )
        return EXIT_DIVERGED
    return 0


if __name__ == "__main__":
    exit_script(main)
