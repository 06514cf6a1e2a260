"""Tables, figures and the per-rho summary of ``python -m sims.logreg_divergence``."""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from sims._common import markdown_table


def _fmt(v: float | None, spec: str = ".4f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return format(v, spec)


def table(rho: float, res: dict[str, Any], args: argparse.Namespace) -> str:
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
            if reference_diverged(sim)
            else f"{sim['farther_count']} of {args.seeds} seeds "
            f"({100 * sim['farther_fraction']:.1f}%) end farther from their oracle than they "
            "started"
        ),
        f"- diverged (|w| > 1e6 or non-finite): pretraining {sim['pretrain_diverged_count']}, "
        f"oracle (retraining) {sim['oracle_diverged_count']}, DA {sim['diverged_count']} "
        f"of {args.seeds} seeds",
    ]
    warn = ""
    if reference_diverged(sim):
        warn = (
            f"**Reference models diverged** (pretraining in {sim['pretrain_diverged_count']}, "
            f"the oracle in {sim['oracle_diverged_count']} of {args.seeds} seeds): lower --lr "
            "or --lam; the simulated distances compare against garbage.\n\n"
        )
    return head + warn + table + "\n" + "\n".join(lines) + "\n"


def reference_diverged(sim: dict[str, Any]) -> bool:
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


def figure(rho: float, res: dict[str, Any], wv: dict[str, Any], args: argparse.Namespace) -> Any:
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


def combined_figure(results: dict[float, dict], wv: dict[str, Any], args: argparse.Namespace):
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


def summary(rho: float, res: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
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
