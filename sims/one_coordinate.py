"""One correlated coordinate: simulated descent–ascent against the exact theory (paper Sec. 5.1.1).

Run ``python -m sims.one_coordinate`` (``--help`` for the flags). For every ``--lam`` and
every :math:`\\alpha` on the grid it

1. evaluates the theory (:func:`ascentjax.theory.solve`): the pretrained model
   :math:`w_D`, the oracle :math:`w_R`, the DA local minimum :math:`W_0(z_{DA})`, the local
   maximum :math:`W_{-1}(z_{DA})` and the branch case (1: one stationary point, 2: two,
   3: none, gradient flow diverges to :math:`-\\infty`);
2. simulates, for ``--seeds`` noisy copies of the one-coordinate data set
   (:func:`ascentjax.one_coordinate_data`, feature noise ``--noise``): pretraining and
   retraining from 0, then DA (``--method simultaneous`` or ``iterative``) from the
   pretrained model, every (:math:`\\lambda`, :math:`\\alpha`, seed) in ONE compiled
   :func:`ascentjax.sweep`; divergence is the engine's flag (:func:`ascentjax.run_rule`),
   never a NaN;
3. writes ``endpoints.png`` (endpoints with seed bands vs :math:`\\alpha` over the theory
   curves, :math:`W_{-1}` dashed, case regions shaded, diverged seeds marked),
   ``table.md`` and ``summary.json`` into ``--out``.

Iterative DA descends the ridge in both half-steps, so to first order in the step size it
is gradient descent on :math:`L_{DA}` with ridge :math:`2\\lambda` (paper App. D.3): its
theory curves and case boundaries use :math:`2\\lambda`. Everything runs in float64 (the
CLI enables x64; the library itself never does).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

import numpy as np

from sims import _one_coordinate_report as report
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
    run_info,
    save_figure,
    seed_flag,
    stage,
    study_config,
    use_headless_matplotlib,
    write_text,
)

STUDY = "one_coordinate"
# Largest accepted magnitudes: far beyond any meaningful setting, yet small enough that
# the closed forms stay finite in float64; a stage they destabilise is flagged diverged.
MAX_LAM = 1e3
MAX_LR = 1e6
MAX_NOISE = 1e3
MAX_BOUND = 1e300


def build_parser() -> argparse.ArgumentParser:
    p = make_parser(
        "python -m sims.one_coordinate",
        "One correlated coordinate (paper Sec. 5.1.1, Lemmas 2-5): simulated DA endpoints "
        "over alpha against w_D, w_R, w_DA and the three branch cases.",
    )
    # fmt: off
    add_flags(p, [
        ("--n-block", positive_int, 5, "retain samples |R_j| on the coordinate"),
        ("--n-retain", positive_int, 100, "retain-set size |R| (>= --n-block)"),
        ("--n-forget", positive_int, 10, "forget-set size |F| (>= 1)"),
        lam_flag(MAX_LAM, [0.01, 0.03], f"ridge strength(s) lambda, each in (0, {MAX_LAM:g}]",
                 nargs="+"),
        ("--alpha", bounded(float, low=0.0), None,
         "explicit alpha = |F_j| / |R_j| values, each in [0, --n-forget / --n-block] "
         "(default: a grid set by --alpha-min, --alpha-max and --alpha-points)",
         dict(nargs="+")),
        ("--alpha-min", bounded(float, low=0.0), 0.0, "smallest alpha of the grid"),
        ("--alpha-max", bounded(float, low=0.0, low_inclusive=False), None,
         "largest alpha of the grid, in (--alpha-min, --n-forget / --n-block] (default: "
         "1.5 x the largest case-2/3 boundary, capped at --n-forget / --n-block)"),
        ("--alpha-points", positive_int, 25, "points of the alpha grid (>= 1)"),
        ("--seeds", positive_int, 32, "noisy seeds per point (>= 1)"),
        noise_flag(MAX_NOISE, 0.02,
                   f"standard deviation of the feature noise, in [0, {MAX_NOISE:g}]"),
        ("--steps", positive_int, 2000, "gradient steps per stage (>= 1)"),
        lr_flag(MAX_LR, f"step size of every stage, in (0, {MAX_LR:g}]"),
        loss_flag(),
        da_method_flag("DA method run from the pretrained model"),
        ("--bound", bounded(float, low=0.0, high=MAX_BOUND, low_inclusive=False), None,
         "divergence box, in (0, 1e+300]: a run whose |w| exceeds it is flagged diverged "
         "(default: 50 + 2 max w_R, beyond every stationary point DA can reach)"),
        seed_flag(),
    ])
    # fmt: on
    add_run_flags(p)
    return p


def _alphas(parser: argparse.ArgumentParser, args: argparse.Namespace) -> np.ndarray:
    cap = args.n_forget / args.n_block  # |F_j| = alpha |R_j| <= |F|
    if args.alpha is not None:
        alphas = np.unique(np.asarray(args.alpha, float))
        if alphas.max() > cap:
            parser.error(f"argument --alpha: must be <= n_forget / n_block = {cap:g}")
        return alphas
    import ascentjax as aj

    lam_da = max(args.lam) * (2 if args.method == "iterative" else 1)
    problem = aj.OneCoordinate(0.0, lam_da, args.n_block, args.n_retain, args.n_forget)
    a1 = float(aj.theory.case_boundaries(problem)[1])
    hi = min(1.5 * a1, cap) if args.alpha_max is None else args.alpha_max
    if hi > cap:
        parser.error(f"argument --alpha-max: must be <= n_forget / n_block = {cap:g}")
    if hi <= args.alpha_min:
        parser.error("argument --alpha-max: must be > --alpha-min")
    alphas = np.linspace(args.alpha_min, hi, args.alpha_points)
    # the case boundaries themselves are on the grid
    a0 = args.n_forget / args.n_retain
    extra = [a0] if args.alpha_min <= a0 <= hi else []
    return np.unique(np.concatenate([alphas, extra]))


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.n_retain < args.n_block:
        parser.error(f"argument --n-retain: must be >= --n-block ({args.n_block})")
    check_representable(parser, args, "float64")


def _check_memory(parser: argparse.ArgumentParser, args: argparse.Namespace, n_alpha: int):
    # every (lambda, alpha, seed) run at once: its data set of 2 |R_j| + 2 rows, the
    # workspace of three stages, and the results kept on the host
    runs = len(args.lam) * n_alpha * args.seeds
    need = runs * ((2 * args.n_block + 2) * 33 * 8 + 256)
    flags = ["--seeds", "--n-block", "--lam"] + (["--alpha-points"] if args.alpha is None else [])
    check_memory(parser, args, need, flags)


# ----------------------------------------------------------------------------- theory
def _theory(alphas: np.ndarray, args: argparse.Namespace) -> dict[str, np.ndarray]:
    import jax.numpy as jnp

    import ascentjax as aj

    lam = jnp.asarray(args.lam)[:, None]
    a = jnp.asarray(alphas)[None, :]
    counts = (float(args.n_block), float(args.n_retain), float(args.n_forget))
    base = aj.theory.solve(aj.OneCoordinate(a, lam, *counts, loss=args.loss))
    lam_da = lam * (2 if args.method == "iterative" else 1)
    da = aj.theory.solve(aj.OneCoordinate(a, lam_da, *counts, loss=args.loss))
    a0, a1 = aj.theory.case_boundaries(aj.OneCoordinate(0.0, lam_da[:, 0], *counts))
    shape = (len(args.lam), len(alphas))
    return {
        "pretrained": np.broadcast_to(np.asarray(base.pretrained), shape),
        "oracle": np.broadcast_to(np.asarray(base.oracle), shape),
        "da": np.asarray(da.da),
        "da_max": np.asarray(da.da_max),
        "case": np.asarray(da.case),
        "alpha_zero": np.broadcast_to(np.asarray(a0), (len(args.lam),)),
        "alpha_branch": np.broadcast_to(np.asarray(a1), (len(args.lam),)),
    }


# ----------------------------------------------------------------------------- simulation
def _simulate(alphas: np.ndarray, args: argparse.Namespace, bound: float) -> dict[str, np.ndarray]:
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    steps, lr, loss = args.steps, args.lr, args.loss
    n_lam, n_alpha, n_seed = len(args.lam), len(alphas), args.seeds

    def one(alpha: jax.Array, lam: jax.Array, key: jax.Array) -> dict[str, jax.Array]:
        data = aj.one_coordinate_data(
            key,
            args.n_block,
            alpha,
            float(args.n_retain),
            float(args.n_forget),
            noise=args.noise,
            dtype=jnp.float64,
        )
        w0 = jnp.zeros(1, jnp.float64)
        pre = aj.run_rule(aj.pretrain(lr, lam=lam, loss=loss), w0, data, steps=steps)
        ora = aj.run_rule(aj.retrain(lr, lam=lam, loss=loss), w0, data, steps=steps)
        if args.method == "simultaneous":
            rule = aj.simultaneous_da(lr, lam=lam, loss=loss)
        else:
            rule = aj.iterative_da(lr, lam=lam, loss=loss)
        da = aj.run_rule(rule, pre.final, data, steps=steps, bound=bound)
        return {
            "pretrained": pre.final[0],
            "oracle": ora.final[0],
            "da": da.final[0],
            "diverged": da.diverged,
            "diverged_at": da.diverged_at,
            "pretrain_diverged": pre.diverged,
            "oracle_diverged": ora.diverged,
        }

    keys = jax.random.split(jax.random.key(args.seed), n_seed)
    A = np.broadcast_to(alphas[None, :, None], (n_lam, n_alpha, n_seed)).ravel()
    L = np.broadcast_to(np.asarray(args.lam)[:, None, None], (n_lam, n_alpha, n_seed)).ravel()
    # the same noisy seeds at every (lambda, alpha): bands compare like with like
    K = jnp.tile(keys, (n_lam * n_alpha,))
    out = aj.sweep(one, jnp.asarray(A), jnp.asarray(L), K)
    return {k: np.asarray(v).reshape(n_lam, n_alpha, n_seed) for k, v in out.items()}


def _stats(th: dict, sim: dict, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    n_lam, n_alpha, _ = sim["da"].shape
    for i in range(n_lam):
        for j in range(n_alpha):
            div = sim["diverged"][i, j]
            ok = ~div
            da = sim["da"][i, j][ok]
            case = int(th["case"][i, j])
            w_da = float(th["da"][i, j])
            med = float(np.median(da)) if da.size else math.nan
            q05 = float(np.quantile(da, 0.05)) if da.size else math.nan
            q95 = float(np.quantile(da, 0.95)) if da.size else math.nan
            err = abs(med - w_da) if (da.size and math.isfinite(w_da)) else math.nan
            frac = float(np.mean(div))
            pre_div = float(np.mean(sim["pretrain_diverged"][i, j]))
            ora_div = float(np.mean(sim["oracle_diverged"][i, j]))
            if pre_div or ora_div:
                agree = False  # no reference to compare against
            elif case == 3:
                agree = frac == 1.0
            else:
                # the seed band (plus a 1e-3 floor for the noise-free run) must cover theory
                agree = frac == 0.0 and q05 - 1e-3 <= w_da <= q95 + 1e-3
            rows.append(
                {
                    "lam": float(args.lam[i]),
                    "alpha": float(th["alpha"][j]),
                    "case": case,
                    "pretrained_theory": float(th["pretrained"][i, j]),
                    "pretrained_sim_median": float(np.median(sim["pretrained"][i, j])),
                    "oracle_theory": float(th["oracle"][i, j]),
                    "oracle_sim_median": float(np.median(sim["oracle"][i, j])),
                    "da_theory": w_da,
                    "da_max_theory": float(th["da_max"][i, j]),
                    "da_sim_median": med,
                    "da_sim_q05": q05,
                    "da_sim_q95": q95,
                    "da_abs_error": err,
                    "diverged_fraction": frac,
                    "pretrain_diverged_fraction": pre_div,
                    "oracle_diverged_fraction": ora_div,
                    "agrees": bool(agree),
                }
            )
    return rows


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_flags(parser, argv, _validate)
    args.lam = list(dict.fromkeys(args.lam))
    alphas = _alphas(parser, args)
    _check_memory(parser, args, len(alphas))
    out = open_output(parser, args.out, STUDY, args.overwrite)

    import jax

    jax.config.update("jax_enable_x64", True)  # the CLI runs its checks in float64
    use_headless_matplotlib()
    t0 = time.perf_counter()
    quiet = args.no_progress
    with stage("theory (closed forms)", disable=quiet):
        th = _theory(alphas, args)
    th["alpha"] = alphas
    n = len(args.lam) * len(alphas) * args.seeds
    # The DA local minimum W0(z_DA) >= -1 and every pretrained/oracle point lie in
    # [-1, max w_R]; a run leaving |w| <= bound has escaped to -inf (or was thrown
    # out by a discrete step overshooting from very negative w) and is flagged diverged.
    bound = args.bound if args.bound is not None else 50.0 + 2.0 * float(np.max(th["oracle"]))
    with stage(f"simulating {n} runs (lambda x alpha x seed) in one compiled sweep", disable=quiet):
        sim = _simulate(alphas, args, bound)
    rows = _stats(th, sim, args)
    table = report.table(rows, args)
    with stage("drawing endpoints.png", disable=quiet):
        save_figure(report.figure(th, sim, args), out / "endpoints.png")
    elapsed = time.perf_counter() - t0  # wall time, figure included
    summary = {
        "config": study_config(args),
        "alphas": alphas,
        "case_boundaries": {
            "lam": args.lam,
            "alpha_zero": th["alpha_zero"],
            "alpha_branch": th["alpha_branch"],
            "ridge_used_for_da_theory": [
                lam * (2 if args.method == "iterative" else 1) for lam in args.lam
            ],
        },
        "rows": rows,
        "agree_count": sum(r["agrees"] for r in rows),
        "points": len(rows),
        "divergence_bound": bound,
        "pretrain_diverged_fraction": float(np.mean(sim["pretrain_diverged"])),
        "oracle_diverged_fraction": float(np.mean(sim["oracle_diverged"])),
    }
    write_text(out / "table.md", table)
    timings = {"theory_simulation_figure": elapsed, "total": time.perf_counter() - t0}
    info = run_info(STUDY, argv, dtype="float64", timings_s=timings, wall_s=timings["total"])
    final = out.finish(summary, info)
    print(table)
    print(f"wrote {final} ({timings['total']:.1f} s)")
    if any(report.reference_diverged(r) for r in rows):
        print(
            "reference models (pretraining or the oracle) diverged: those points are void "
            "(exit status 1)",
            file=sys.stderr,
        )
        return EXIT_DIVERGED
    return 0


if __name__ == "__main__":
    exit_script(main)
