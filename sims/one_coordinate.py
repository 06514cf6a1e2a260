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
    run_info,
    save_figure,
    seed_int,
    stage,
    study_config,
    use_headless_matplotlib,
    write_text,
)
from sims._devices import add_devices_flag, configure_devices

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
    p.add_argument(
        "--n-block", type=positive_int, default=5, help="retain samples |R_j| on the coordinate"
    )
    p.add_argument(
        "--n-retain", type=positive_int, default=100, help="retain-set size |R| (>= --n-block)"
    )
    p.add_argument("--n-forget", type=positive_int, default=10, help="forget-set size |F| (>= 1)")
    p.add_argument(
        "--lam",
        type=bounded(float, low=0.0, high=MAX_LAM, low_inclusive=False),
        nargs="+",
        default=[0.01, 0.03],
        help=f"ridge strength(s) lambda, each in (0, {MAX_LAM:g}]",
    )
    p.add_argument(
        "--alpha",
        type=bounded(float, low=0.0),
        nargs="+",
        default=None,
        help="explicit alpha = |F_j| / |R_j| values, each in [0, --n-forget / --n-block] "
        "(default: a grid set by --alpha-min, --alpha-max and --alpha-points)",
    )
    p.add_argument(
        "--alpha-min", type=bounded(float, low=0.0), default=0.0, help="smallest alpha of the grid"
    )
    p.add_argument(
        "--alpha-max",
        type=bounded(float, low=0.0, low_inclusive=False),
        default=None,
        help="largest alpha of the grid, in (--alpha-min, --n-forget / --n-block] (default: "
        "1.5 x the largest case-2/3 boundary, capped at --n-forget / --n-block)",
    )
    p.add_argument(
        "--alpha-points", type=positive_int, default=25, help="points of the alpha grid (>= 1)"
    )
    p.add_argument("--seeds", type=positive_int, default=32, help="noisy seeds per point (>= 1)")
    p.add_argument(
        "--noise",
        type=bounded(float, low=0.0, high=MAX_NOISE),
        default=0.02,
        help=f"standard deviation of the feature noise, in [0, {MAX_NOISE:g}]",
    )
    p.add_argument(
        "--steps", type=positive_int, default=2000, help="gradient steps per stage (>= 1)"
    )
    p.add_argument(
        "--lr",
        type=bounded(float, low=0.0, high=MAX_LR, low_inclusive=False),
        default=10.0,
        help=f"step size of every stage, in (0, {MAX_LR:g}]",
    )
    p.add_argument(
        "--loss", choices=("exp", "logistic"), default="exp", help="margin loss of every stage"
    )
    p.add_argument(
        "--method",
        choices=("simultaneous", "iterative"),
        default="simultaneous",
        help="DA method run from the pretrained model",
    )
    p.add_argument(
        "--bound",
        type=bounded(float, low=0.0, high=MAX_BOUND, low_inclusive=False),
        default=None,
        help="divergence box, in (0, 1e+300]: a run whose |w| exceeds it is flagged diverged "
        "(default: 50 + 2 max w_R, beyond every stationary point DA can reach)",
    )
    p.add_argument("--seed", type=seed_int, default=0, help=f"PRNG seed, in [0, {SEED_MAX}]")
    add_output_flags(p)
    add_devices_flag(p)
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


# ----------------------------------------------------------------------------- reporting
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


def _table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    head = (
        f"One coordinate: |R_j| = {args.n_block}, |R| = {args.n_retain}, |F| = {args.n_forget}, "
        f"loss = {args.loss}, {args.method} DA, {args.seeds} seeds, noise {args.noise:g}, "
        f"{args.steps} steps, lr {args.lr:g}\n\n"
    )

    def f(v: float) -> Any:
        return None if not math.isfinite(v) else round(v, 4)

    body = markdown_table(
        [
            "lambda",
            "alpha",
            "case",
            "w_D (sim)",
            "w_R (sim)",
            "W0 w_DA",
            "W-1",
            "DA sim median [5%, 95%]",
            "|median - W0|",
            "DA diverged",
            "pretrain / oracle diverged",
            "agrees",
        ],
        [
            [
                r["lam"],
                r["alpha"],
                r["case"],
                f"{r['pretrained_theory']:.4f} ({r['pretrained_sim_median']:.4f})",
                f"{r['oracle_theory']:.4f} ({r['oracle_sim_median']:.4f})",
                f(r["da_theory"]),
                f(r["da_max_theory"]),
                "—"
                if not math.isfinite(r["da_sim_median"])
                else f"{r['da_sim_median']:.4f} [{r['da_sim_q05']:.4f}, {r['da_sim_q95']:.4f}]",
                f(r["da_abs_error"]),
                f"{100 * r['diverged_fraction']:.0f}%",
                f"{100 * r['pretrain_diverged_fraction']:.0f}% / "
                f"{100 * r['oracle_diverged_fraction']:.0f}%",
                r["agrees"],
            ]
            for r in rows
        ],
    )
    n_ok = sum(r["agrees"] for r in rows)
    n_ref = sum(_reference_diverged(r) for r in rows)
    if n_ref:
        head += (
            f"**Reference models diverged** at {n_ref} of {len(rows)} (lambda, alpha) points "
            "(pretraining or the oracle left |w| <= bound or became non-finite): lower --lr; "
            "those points are not compared with the theory.\n\n"
        )
    foot = (
        f"\n{n_ok} of {len(rows)} (lambda, alpha) points agree with the theory "
        "(cases 1-2: no seed diverged and the 5-95% seed band covers W0(z_DA) to 1e-3; "
        "case 3: every seed diverged, flagged by the engine). Feature noise moves each "
        "seed's own case boundary, so with noise > 0 points next to the case-2/3 boundary "
        "can show a mixed diverged fraction: a seed whose retain features exceed its forget "
        "features has L_DA bounded below and stops at a distant minimum instead.\n"
    )
    return head + body + foot


def _reference_diverged(row: dict[str, Any]) -> bool:
    return bool(row["pretrain_diverged_fraction"] or row["oracle_diverged_fraction"])


def _figure(th: dict, sim: dict, args: argparse.Namespace) -> Any:
    import jax.numpy as jnp
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    import ascentjax as aj
    from sims import _figures as F

    n_lam = len(args.lam)
    fig, axes = F.subplots(
        2, n_lam, panel=(5.6, 2.6), sharex="col", gridspec_kw={"height_ratios": [2.6, 1.0]}
    )
    al = th["alpha"]
    lam = np.asarray(args.lam, float)
    lam_da = lam * (2 if args.method == "iterative" else 1)
    a0s, a1s = np.asarray(th["alpha_zero"], float), np.asarray(th["alpha_branch"], float)
    # Theory curves on a dense alpha grid, refined inside case 2 (W0 and W-1 meet there);
    # the same grid size for every lambda, so all panels are one compiled evaluation.
    base = np.linspace(al.min(), al.max(), 400)
    dense = np.sort(
        np.concatenate(
            [
                np.broadcast_to(base, (n_lam, base.size)),
                np.clip(
                    a0s[:, None] + (a1s - a0s)[:, None] * np.linspace(0, 1, 200), al.min(), al.max()
                ),
            ],
            axis=1,
        ),
        axis=1,
    )
    counts = (float(args.n_block), float(args.n_retain), float(args.n_forget))
    cur = aj.theory.solve(
        aj.OneCoordinate(jnp.asarray(dense), jnp.asarray(lam)[:, None], *counts, loss=args.loss)
    )
    cda = aj.theory.solve(
        aj.OneCoordinate(jnp.asarray(dense), jnp.asarray(lam_da)[:, None], *counts, loss=args.loss)
    )
    pre_th = np.broadcast_to(np.asarray(cur.pretrained), dense.shape)
    ora_th = np.broadcast_to(np.asarray(cur.oracle), dense.shape)
    da_th, da_max_th = np.asarray(cda.da), np.asarray(cda.da_max)
    c_pre, c_ora, c_da = F.ROLE["pretrained"], F.ROLE["oracle"], F.ROLE["da"]
    clipped_any = False
    for i in range(n_lam):
        ax, zoom = axes[0, i], axes[1, i]
        lo_y = -4.0
        hi_y = 1.25 * float(np.nanmax(th["oracle"][i]))
        a0, a1 = float(a0s[i]), float(a1s[i])
        if args.loss == "exp":
            ax.axvspan(a0, a1, color=F.ORANGE, alpha=0.18, lw=0)
            ax.axvspan(a1, al.max(), color=F.LIGHT, alpha=0.7, lw=0)
        x = dense[i]
        ax.plot(x, pre_th[i], color=c_pre)
        ax.plot(x, ora_th[i], color=c_ora)
        ax.plot(x, da_th[i], color=c_da)
        if args.loss == "exp":
            ax.plot(x, da_max_th[i], "--", color=c_da)
        da = np.where(sim["diverged"][i], np.nan, sim["da"][i])
        good = ~np.all(sim["diverged"][i], axis=1)
        with np.errstate(all="ignore"):
            med = np.nanmedian(np.where(good[:, None], da, 0.0), axis=1)
            q05 = np.nanquantile(np.where(good[:, None], da, 0.0), 0.05, axis=1)
            q95 = np.nanquantile(np.where(good[:, None], da, 0.0), 0.95, axis=1)
        # the band is clipped to the panel; a grey arrow on the edge marks where it runs past
        ax.fill_between(
            al[good],
            np.maximum(q05[good], lo_y),
            np.minimum(q95[good], hi_y),
            color=F.GREY,
            alpha=0.35,
            lw=0,
        )
        ax.plot(al[good], med[good], "o", color=F.BLACK, ms=3.5)
        for clipped, edge, marker in (
            (good & (q05 < lo_y), lo_y, "v"),
            (good & (q95 > hi_y), hi_y, "^"),
        ):
            if clipped.any():
                clipped_any = True
                ax.plot(
                    al[clipped],
                    np.full(clipped.sum(), edge),
                    marker=marker,
                    ls="none",
                    color=F.GREY,
                    ms=7,
                    clip_on=False,
                    zorder=6,
                )
        frac = np.mean(sim["diverged"][i], axis=1)
        hit = frac > 0
        if hit.any():
            ax.scatter(
                al[hit],
                np.full(hit.sum(), lo_y + 0.45),
                marker="x",
                color=F.BLACK,
                s=10 + 50 * frac[hit],
                lw=1.2,
                zorder=6,
            )
        ax.set_ylim(lo_y, hi_y)
        ax.set_xlim(al.min(), al.max())
        ax.axhline(0, color="0.5", lw=0.5)
        ax.set_ylabel("$w$ (margin on the coordinate)")
        ax.set_title(
            rf"$\lambda$ = {lam[i]:g}"
            + (
                rf" (iterative DA: theory with $2\lambda$ = {lam_da[i]:g})"
                if args.method == "iterative"
                else ""
            )
        )
        # zoom on the pretrained model and the oracle: 1-2 % apart, invisible above
        pre_med = np.median(sim["pretrained"][i], axis=1)
        ora_med = np.median(sim["oracle"][i], axis=1)
        zoom.plot(x, pre_th[i], color=c_pre)
        zoom.plot(x, ora_th[i], color=c_ora)
        zoom.plot(al, pre_med, "+", color=c_pre, ms=7, mew=1.3)
        zoom.plot(al, ora_med, "x", color=c_ora, ms=5, mew=1.3)
        vals = np.concatenate([pre_th[i], ora_th[i], pre_med, ora_med])
        vals = vals[np.isfinite(vals)]
        lo, hi = float(vals.min()), float(vals.max())
        pad = 0.15 * max(hi - lo, 1e-3)
        zoom.set_ylim(lo - pad, hi + pad)
        zoom.set_ylabel("zoom: $w_D$, $w_R$")
        zoom.set_xlabel(r"$\alpha = |F_j|/|R_j|$")
    handles = [
        Line2D([], [], color=c_pre, label="$w_D$ pretrained (theory)"),
        Line2D([], [], color=c_ora, label="$w_R$ oracle (theory)"),
        Line2D([], [], color=c_da, label=r"DA local min $W_0(z_{DA})$ (theory)"),
    ]
    if args.loss == "exp":
        handles.append(Line2D([], [], color=c_da, ls="--", label=r"DA local max $W_{-1}(z_{DA})$"))
    handles += [
        Line2D(
            [], [], marker="o", ls="none", color=F.BLACK, ms=4, label="DA endpoint, median of seeds"
        ),
        Patch(color=F.GREY, alpha=0.35, label="DA endpoints, 5–95 % of seeds"),
        Line2D(
            [],
            [],
            marker="+",
            ls="none",
            color=c_pre,
            ms=7,
            mew=1.3,
            label="$w_D$ simulated (median)",
        ),
        Line2D(
            [],
            [],
            marker="x",
            ls="none",
            color=c_ora,
            ms=5,
            mew=1.3,
            label="$w_R$ simulated (median)",
        ),
        Line2D(
            [],
            [],
            marker="x",
            ls="none",
            color=F.BLACK,
            ms=6,
            label="seeds diverged (size: fraction)",
        ),
    ]
    if clipped_any:
        handles.append(
            Line2D(
                [],
                [],
                marker="v",
                ls="none",
                color=F.GREY,
                ms=7,
                label="band runs past the panel edge (▼ below, ▲ above)",
            )
        )
    if args.loss == "exp":
        handles += [
            Patch(color=F.ORANGE, alpha=0.18, label="case 2: two stationary points"),
            Patch(color=F.LIGHT, alpha=0.7, label="case 3: none, DA diverges"),
        ]
    fig.suptitle(
        f"One coordinate: $|R_j|$ = {args.n_block}, $|R|$ = {args.n_retain}, "
        f"$|F|$ = {args.n_forget}, {args.loss} loss, {args.method} DA, "
        f"noise {args.noise:g}, {args.seeds} seeds"
    )
    F.legend_below(fig, handles, ncol=3)
    return fig


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_devices(args.devices)  # before JAX starts: one CPU device per core
    _validate(parser, args)
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
    table = _table(rows, args)
    with stage("drawing endpoints.png", disable=quiet):
        save_figure(_figure(th, sim, args), out / "endpoints.png")
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
    if any(_reference_diverged(r) for r in rows):
        print(
            "reference models (pretraining or the oracle) diverged: those points are void "
            "(exit status 1)",
            file=sys.stderr,
        )
        return EXIT_DIVERGED
    return 0


if __name__ == "__main__":
    exit_script(main)
