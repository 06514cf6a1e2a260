"""Tables, figures and the summary of ``python -m sims.random_forget``.

Everything here formats results the study has computed; nothing is recomputed
except the tail frequencies and bounds drawn on the figures.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from sims._common import markdown_table, save_figure, study_config

METHODS = ("ga", "sim_da", "iter_da")
METHOD_NAMES = {"ga": "GA", "sim_da": "simultaneous DA", "iter_da": "iterative DA"}


def plot_lemma1(results, args, path):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    import ascentjax as aj
    from sims import _figures as F

    names = list(results)
    ncol = len(args.forget_sizes)
    fig, axes = F.subplots(2 * len(names), ncol, panel=(3.6, 2.7))
    c_or, c_pre = F.ROLE["oracle"], F.ROLE["pretrained"]
    for r, name in enumerate(names):
        res = results[name]
        for c, nf in enumerate(args.forget_sizes):
            g_or = res["gaps_oracle"][c]
            g_pre = res["gaps_pretrained"][c]
            ax = axes[2 * r, c]
            lo = min(g_or.min(), g_pre.min())
            hi = max(g_or.max(), g_pre.max())
            bins = np.linspace(lo, hi, 41) if hi > lo else 10
            ax.hist(g_or, bins=bins, alpha=0.6, color=c_or)
            ax.hist(g_pre, bins=bins, histtype="step", lw=1.4, color=c_pre)
            tdel = float(aj.theory.lemma1_threshold(args.delta, nf, args.n_test))
            for s in (-tdel, tdel):
                ax.axvline(s, color="k", ls=":", lw=1)
            ax.set_title(f"{name}: |F| = {nf}, |T| = {args.n_test}")
            ax.set_xlabel(r"$\mathrm{Acc}_F-\mathrm{Acc}_T$")
            if c == 0:
                ax.set_ylabel("draws")
            ax = axes[2 * r + 1, c]
            ts = np.linspace(0, max(0.5, np.abs(g_pre).max()), 300)
            q_or = np.asarray(aj.theory.tail_frequency(g_or, ts))
            q_pre = np.asarray(aj.theory.tail_frequency(g_pre, ts))
            bound = np.minimum(1, np.asarray(aj.theory.lemma1_bound(ts, nf, args.n_test)))
            eps = res["stats"][c]["dkw_eps"]
            floor = 0.5 / len(g_or)
            ax.semilogy(ts, np.maximum(bound, floor), "k-", lw=2)
            ax.semilogy(ts, np.maximum(q_or, floor), "-", color=c_or)
            ax.fill_between(
                ts,
                np.maximum(q_or, floor),
                np.maximum(q_or + eps, floor),
                color=c_or,
                alpha=0.2,
                lw=0,
            )
            ax.semilogy(ts, np.maximum(q_pre, floor), "--", color=c_pre)
            ax.set_ylim(floor, 1.5)
            ax.set_xlabel("t")
            if c == 0:
                ax.set_ylabel(r"$P(|\mathrm{Acc}_F-\mathrm{Acc}_T|\geq t)$")
    handles = [
        Patch(color=c_or, alpha=0.6, label="oracle (trained on R only): gaps / tail"),
        Patch(fill=False, ec=c_pre, lw=1.4, label="pretrained (saw F): gaps"),
        Line2D([], [], color=c_pre, ls="--", label="pretrained: tail frequency"),
        Line2D([], [], color="k", lw=2, label="Lemma 1 (Hoeffding) bound"),
        Patch(color=c_or, alpha=0.2, label=f"oracle tail + DKW band (level {args.alpha:g})"),
        Line2D([], [], color="k", ls=":", label=f"±t(δ = {args.delta:g})"),
    ]
    fig.suptitle("Lemma 1: the oracle's forget/test accuracy gap and its tail vs the bound")
    F.legend_below(
        fig,
        handles,
        ncol=3,
        note="Top row of each data set: histograms of the gap over random draws of D, F and "
        "T. Bottom row: how often |gap| ≥ t, against Lemma 1's bound; the oracle's tail must "
        "stay under the bound up to the Monte-Carlo band.",
    )
    save_figure(fig, path)


def plot_unlearning(results, args, path):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from sims import _figures as F

    names = list(results)
    fig, axes = F.subplots(len(names), 2, panel=(4.8, 3.6))
    base = {"ga": F.ROLE["ga"], "sim_da": F.ROLE["simultaneous"], "iter_da": F.ROLE["iterative"]}
    colors = {m: F.shades(base[m], len(args.lrs), lightest=0.3) for m in METHODS}
    steps = np.arange(0, args.steps + 1, args.stride)
    for r, name in enumerate(names):
        u = results[name]["unlearn"]
        traj = u["traj"].mean(0)  # (methods, lrs, n_obs + 1, 3)
        ax, ax2 = axes[r]
        o = u["oracle"].mean(0)
        p0 = u["pretrained"].mean(0)
        tdel = u["t_delta"]
        lims = [min(traj[..., :2].min(), o[:2].min()) - 0.02, 1.0]
        xs = np.linspace(*lims, 2)
        ax.fill_between(xs, xs - tdel, xs + tdel, color=F.LIGHT, lw=0)
        ax.plot(xs, xs, "k-", lw=0.8)
        if u["oracle_gap_quantile"] is not None:
            ax.plot(xs, xs - u["oracle_gap_quantile"], "k--", lw=0.8)
        for mi, m in enumerate(METHODS):
            for li in range(len(args.lrs)):
                col = colors[m][li]
                ax.plot(traj[mi, li, :, 0], traj[mi, li, :, 1], "-", color=col, lw=1.4)
                ax.plot(traj[mi, li, -1, 0], traj[mi, li, -1, 1], "o", color=col, ms=3.5)
                ax2.plot(steps, traj[mi, li, :, 2], "-", color=col, lw=1.4)
        ax.plot(*o[:2], "*", color="k", ms=13, zorder=6)
        ax.plot(*p0[:2], "s", color="k", ms=7, zorder=6)
        ax.set_xlim(lims)
        ax.set_ylim(lims)
        ax.set_xlabel(r"forget accuracy $\mathrm{Acc}_F$")
        ax.set_ylabel(r"test accuracy $\mathrm{Acc}_T$")
        ax.set_title(f"{name}: mean over {u['traj'].shape[0]} draws, |F| = {args.unlearn_forget}")
        ax2.axhline(p0[2], color="k", ls=":", lw=1)
        ax2.set_xlabel("unlearning steps")
        ax2.set_ylabel(r"distance to the draw's oracle $\|w-w_R\|$")
        ax2.set_yscale("log")
        ax2.set_title(f"{name}: distance to the oracle")
    # one column of the legend per method, lighter = smaller learning rate
    handles = []
    for m in METHODS:
        handles += [
            Line2D([], [], color=colors[m][li], lw=2, label=f"{METHOD_NAMES[m]}, lr {lr:g}")
            for li, lr in enumerate(args.lrs)
        ]
    marks = [
        Line2D([], [], marker="*", ls="none", color="k", ms=11, label="oracle (mean)"),
        Line2D([], [], marker="s", ls="none", color="k", ms=6, label="pretrained (mean)"),
        Line2D([], [], color="k", lw=0.8, label=r"$\mathrm{Acc}_F = \mathrm{Acc}_T$"),
        Patch(color=F.LIGHT, label=r"$|\mathrm{gap}| \leq t(\delta)$ (Lemma 1)"),
    ]
    if any(results[n]["unlearn"]["oracle_gap_quantile"] is not None for n in names):
        marks.append(
            Line2D([], [], color="k", ls="--", lw=0.8, label=r"oracle gap, $\delta/2$ quantile")
        )
    marks.append(Line2D([], [], color="k", ls=":", label=r"pretrained $\|w_D-w_R\|$"))
    per_col = len(args.lrs)
    while len(marks) % per_col:
        marks.append(Line2D([], [], ls="none", label=" "))
    fig.suptitle("Unlearning from the pretrained model")
    F.legend_below(
        fig,
        handles + marks,
        ncol=len(METHODS) + len(marks) // per_col,
        note="Pushing the forget accuracy below the test accuracy drags the test accuracy "
        "down and moves the model away from the oracle. Dots: the end of each run.",
    )
    save_figure(fig, path)


def reference_failures(results: dict[str, Any]) -> dict[str, int]:
    """Draws whose oracle or pretrained model (Newton) did not converge, per part."""
    out = {}
    for name, r in results.items():
        n = sum(s["oracle_unconverged"] + s["pretrained_unconverged"] for s in r["stats"])
        u = r["unlearn"]
        m = int(np.sum(u["oracle_failed"]) + np.sum(u["pretrained_failed"]))
        if n:
            out[f"{name} Lemma 1 draws"] = n
        if m:
            out[f"{name} unlearning draws"] = m
    return out


def tables(results, args):
    lines = ["# Random forget sets (Lemma 1)\n"]
    failures = reference_failures(results)
    if failures:
        lines.append(
            "**Reference models did not converge** ("
            + ", ".join(f"{k}: {v}" for k, v in failures.items())
            + "): Newton's method left a gradient larger than 1/1000 of its start or a "
            "non-finite model; the gaps and distances involving them are void.\n"
        )
    lines.append(
        f"Loss: {args.loss}, lambda={args.lam}, n_D={args.n_train}, n_T={args.n_test}, "
        f"{args.draws} draws per |F|.\n"
    )
    rows = []
    for name, r in results.items():
        for s in r["stats"]:
            rows.append(
                [
                    name,
                    s["n_forget"],
                    s["oracle_mean_acc_test"],
                    s["mean_gap"],
                    s["pretrained_mean_gap"],
                    s["max_excess"],
                    s["t_at_max_excess"],
                    s["dkw_eps"],
                    s["violation"],
                    f"{s['oracle_unconverged']} / {s['pretrained_unconverged']}",
                ]
            )
    lines.append(
        markdown_table(
            [
                "data set",
                "n_F",
                "oracle Acc_T",
                "oracle mean gap",
                "pretrained mean gap",
                "max(freq - bound)",
                "at t",
                "DKW eps",
                "violation",
                "unconverged oracle / pretrained",
            ],
            rows,
        )
    )
    lines.append(
        f"\n## Unlearning from the pretrained model (n_F={args.unlearn_forget}, "
        f"{args.unlearn_draws} draws; gap = Acc_F - Acc_T; 'rejected' = share of draws with "
        f"gap < -t(delta={args.delta}); 'below oracle q' = share below the delta/2 quantile of "
        "the oracle's own Monte-Carlo gap at this n_F; distance relative to ||w_D - w_R||)\n"
    )
    headers = [
        "data set",
        "method",
        "lr",
        "steps",
        "Acc_F",
        "Acc_T",
        "gap",
        "rejected",
        "below oracle q",
        "dist / pre",
        "diverged",
    ]
    urows, rows_json = [], []
    n_obs = args.steps // args.stride
    picks = sorted({1, max(1, n_obs // 4), max(1, n_obs // 2), n_obs})
    for name, r in results.items():
        u = r["unlearn"]
        tdel = u["t_delta"]
        qlo = u["oracle_gap_quantile"]
        pre = u["pretrained"]
        d0 = np.maximum(pre[:, 2], 1e-12)
        for label, a in (("pretrained", pre), ("oracle", u["oracle"])):
            gap = a[:, 0] - a[:, 1]
            row = [name, label, None, 0, float(a[:, 0].mean()), float(a[:, 1].mean())]
            row += [float(gap.mean())]
            row += [float(np.mean(gap < -tdel))]
            row += [None if qlo is None else float(np.mean(gap < qlo))]
            failed = u["pretrained_failed"] if label == "pretrained" else u["oracle_failed"]
            row += [float(np.mean(a[:, 2] / d0)), float(np.mean(failed))]
            urows.append(row)
        for mi, m in enumerate(METHODS):
            for li, lr in enumerate(args.lrs):
                div = float(u["diverged"][:, mi, li].mean())
                for k in range(n_obs + 1):
                    a = u["traj"][:, mi, li, k]
                    gap = a[:, 0] - a[:, 1]
                    rec = {
                        "data_set": name,
                        "method": m,
                        "lr": lr,
                        "steps": k * args.stride,
                        "acc_forget": float(a[:, 0].mean()),
                        "acc_test": float(a[:, 1].mean()),
                        "gap": float(gap.mean()),
                        "rejected_frac": float(np.mean(gap < -tdel)),
                        "below_oracle_quantile_frac": None
                        if qlo is None
                        else float(np.mean(gap < qlo)),
                        "dist_to_oracle": float(a[:, 2].mean()),
                        "dist_rel_pretrained": float(np.mean(a[:, 2] / d0)),
                        "diverged_frac": div,
                    }
                    rows_json.append(rec)
                    if k in picks:
                        urows.append(
                            [
                                name,
                                METHOD_NAMES[m],
                                lr,
                                k * args.stride,
                                rec["acc_forget"],
                                rec["acc_test"],
                                rec["gap"],
                                rec["rejected_frac"],
                                rec["below_oracle_quantile_frac"],
                                rec["dist_rel_pretrained"],
                                div,
                            ]
                        )
    lines.append(markdown_table(headers, urows, floatfmt=".3g"))
    return "\n".join(lines), rows_json


def summary(results: dict[str, Any], args: Any, eps: float, rows_json: list) -> dict[str, Any]:
    """The content of ``summary.json`` (what the seed and the flags determine)."""
    worst = max((s for r in results.values() for s in r["stats"]), key=lambda s: s["max_excess"])
    return {
        "study": "random_forget",
        "config": study_config(args),
        "data_sets": {
            "gaussian": "fresh mixture per draw: y = +-1 equiprobable, x = y (s/2) e1 + N(0, I)",
            "breast_cancer": "sklearn load_breast_cancer, standardised + bias column; D and T "
            "drawn i.i.d. with replacement from the 569 rows (the empirical distribution)",
        },
        "loss": f"{args.loss} loss, ridge lam={args.lam}; oracle by Newton (train_oracle)",
        "violation_rule": (
            "violation iff sup_t [q_hat(t) - min(1, bound(t))] > eps_DKW = "
            "sqrt(ln(2 m / alpha) / (2 N)), m = number of (data set, |F|) cells; the sup is "
            "evaluated exactly at every attained |gap|"
        ),
        "dkw_eps": eps,
        "lemma1": {name: r["stats"] for name, r in results.items()},
        "largest_violation": {
            "max_excess": worst["max_excess"],
            "n_forget": worst["n_forget"],
            "t": worst["t_at_max_excess"],
            "beyond_monte_carlo_error": any(
                s["violation"] for r in results.values() for s in r["stats"]
            ),
        },
        "unlearning": rows_json,
        "reference_models_unconverged": reference_failures(results),
    }


def print_result(table: str, summary: dict[str, Any], final: Any, elapsed: float) -> None:
    """The table, the verdict and what was written, on stdout (failures on stderr)."""
    print(table)
    worst = summary["largest_violation"]
    verdict = "NO violation" if not worst["beyond_monte_carlo_error"] else "VIOLATION"
    print(
        f"largest excess of tail frequency over the bound: {worst['max_excess']:+.4f} "
        f"(|F|={worst['n_forget']}, t={worst['t']:.3f}); DKW eps={summary['dkw_eps']:.4f}: "
        f"{verdict} beyond Monte-Carlo error"
    )
    print(f"wrote {final}/summary.json, lemma1.png, unlearning.png, table.md ({elapsed:.1f} s)")
    failures = summary["reference_models_unconverged"]
    if failures:
        print(
            "reference models did not converge ("
            + ", ".join(f"{k}: {v}" for k, v in failures.items())
            + "): the comparisons with them are void (exit status 1)",
            file=sys.stderr,
        )
