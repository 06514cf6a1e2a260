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

from sims import _logreg_divergence_report as report
from sims._common import (
    EXIT_DIVERGED,
    add_flags,
    add_run_flags,
    bounded,
    check_memory,
    check_representable,
    cli,
    da_method_flag,
    exit_script,
    lam_flag,
    loss_flag,
    lr_flag,
    make_parser,
    noise_flag,
    open_output,
    parse_flags,
    positive_int,
    progress,
    run_info,
    save_figure,
    seed_flag,
    stage,
    sweep_with_bar,
    unit_interval_open_right,
    use_headless_matplotlib,
    write_json,
    write_text,
)

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
    # fmt: off
    add_flags(p, [
        ("--rho", unit_interval_open_right, [0.8],
         "correlation strength(s) epsilon of the block, each in [0, 1)", dict(nargs="+")),
        ("--alpha", bounded(float, low=0.0, high=MAX_ALPHA), 0.05,
         "forget-block size as a fraction of the retain block, alpha = |S_j| / |S_i|, "
         f"in [0, {MAX_ALPHA:g}] and at most --n-forget / --block-size"),
        lam_flag(MAX_LAM),
        ("--block-size", positive_int, 50,
         "retain-block size |S_i| (samples, >= 1); the forget block has alpha |S_i|"),
        ("--n-retain", positive_int, 900,
         "retain-set size |R| (samples, >= --block-size); the rest is orthogonal filler"),
        ("--n-forget", positive_int, 100, "forget-set size |F| (samples, >= alpha --block-size)"),
        loss_flag(),
        da_method_flag("DA method simulated from the pretrained model"),
        ("--seeds", positive_int, 1024, "simulated seeds (>= 1)"),
        noise_flag(MAX_NOISE, 0.05, "standard deviation of the feature noise added per seed, "
                   f"in [0, {MAX_NOISE:g}]"),
        ("--steps", positive_int, 1000,
         "gradient steps for pretraining, retraining and DA each (>= 1)"),
        lr_flag(MAX_LR, f"step size, in (0, {MAX_LR:g}]; the objectives are averages with "
                "ridge ~lambda, so O(10) is stable"),
        seed_flag(),
    ])
    # fmt: on
    add_run_flags(p)
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
    lemma_lo, lemma_hi = (float(v) for v in aj.theory.lemma_window(block))
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
    desc = f"simulate rho={rho:g}"
    every = min(args.seeds, CHUNK)
    # one compiled vmap per block of seeds at XLA's default vector width: bit for bit the
    # results of a plain jit(vmap) per block
    narrow = {"xla_cpu_prefer_vector_width": 256}
    opts = dict(chunk_size=None, compiler_options=narrow, unit="seed", disable=disable)
    out = sweep_with_bar(one_seed, keys, every=every, desc=desc, **opts)
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


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_flags(parser, argv, _validate)
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
        table = report.table(rho, res, args)
        tables.append(table)
        summaries[rho] = report.summary(rho, res, args)
        if len(rhos) > 1:
            where = out.dir / f"rho={rho:g}"
            with stage(f"drawing rho={rho:g}/divergence.png", disable=disable):
                save_figure(report.figure(rho, res, wv, args), where / "divergence.png")
            write_text(where / "table.md", table)
            write_json(where / "summary.json", summaries[rho])
        print(table)
    if len(rhos) > 1:
        with stage("drawing divergence.png", disable=disable):
            save_figure(report.combined_figure(results, wv, args), out / "divergence.png")
        summary = {"rho": rhos, "by_rho": {f"{r:g}": summaries[r] for r in rhos}}
    else:
        with stage("drawing divergence.png", disable=disable):
            save_figure(report.figure(rhos[0], results[rhos[0]], wv, args), out / "divergence.png")
        summary = summaries[rhos[0]]
    write_json(out / "window_vs_rho.json", wv)
    write_text(out / "table.md", "\n".join(tables))
    wall = time.perf_counter() - t0
    info = run_info(STUDY, argv, dtype="float64", timings_s=timings, wall_s=wall)
    final = out.finish(summary, info)
    print(f"wrote {final} ({wall:.1f} s)")
    diverged = [r for r in rhos if report.reference_diverged(results[r]["simulation"])]
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
