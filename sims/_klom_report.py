"""Figures and tables of the KLoM study (``python -m sims.klom``): drawing only."""

from __future__ import annotations

from typing import Any

import numpy as np

from sims._common import markdown_table

LABELS = {"ga": "GA", "gda": "GDA", "scrub": "SCRUB"}


def illusion_summary(rows: list[dict[str, Any]], oracle_level: float) -> dict[str, Any]:
    """The grid point chosen by its forget KLoM on the selection seeds, re-scored on the
    held-out seeds (:func:`ascentjax.nets.select_and_rescore`); a configuration with a
    diverged model is never selected."""
    from ascentjax import nets

    half = [[r["forget_klom_half_a"], r["forget_klom_half_b"]] for r in rows]
    a, b = np.asarray(half, np.float64).T
    sel = nets.select_and_rescore(a, b, valid=np.array([r["diverged"] == 0 for r in rows]))
    i = int(sel.index)
    r = rows[i] if i >= 0 else None
    return dict(
        selected=None if r is None else dict(lr=r["lr"], mix=r["mix"], epochs=r["epochs"]),
        forget_klom_on_selection_seeds=None if r is None else r["forget_klom_half_a"],
        forget_klom_on_held_out_seeds=None if r is None else r["forget_klom_half_b"],
        oracle_level_halves=oracle_level,
        retain_klom_at_selected=None if r is None else r["klom"]["retain"],
        validation_klom_at_selected=None if r is None else r["klom"]["validation"],
        grid_points=len(rows),
        diverged_configurations=sum(r["diverged"] > 0 for r in rows),
    )


def _num(v: Any) -> float:
    return float("nan") if v is None else float(v)


# ----------------------------------------------------------------------------- outputs
def plot_grid(summary: dict[str, Any], what: str) -> Any:
    """One panel per forget set (row) and method (column; GDA: one column per mix).

    x: unlearning learning rate (log scale); one line per number of unlearning epochs
    (lighter = fewer); colour: the split (forget, retain, validation); dotted: the
    independent oracle ensemble, the best any method can reach. y is shared along a row.
    """
    from matplotlib.lines import Line2D

    from sims import _figures as F

    sets = list(summary["forget_sets"])
    cfg = summary["config"]
    columns = []  # (method, mix or None)
    for m in cfg["methods"]:
        mixes = cfg["mixes"] if m == "gda" else [None]
        columns += [(m, mix) for mix in mixes]
    splits = ("forget", "retain", "validation")
    n_ep = cfg["unlearn_epochs"]
    fig, axes = F.subplots(len(sets), len(columns), panel=(3.2, 2.4), sharey="row", sharex=True)
    lrs = sorted(cfg["lrs"])
    for i, s in enumerate(sets):
        e = summary["forget_sets"][s]
        for j, (m, mix) in enumerate(columns):
            ax = axes[i, j]
            rows = [r for r in e["methods"][m]["grid"] if mix is None or r["mix"] == mix]
            for split in splits:
                shades = F.shades(F.ROLE[split], n_ep, lightest=0.25)
                for ep in range(1, n_ep + 1):
                    pts = sorted((r["lr"], r[what][split]) for r in rows if r["epochs"] == ep)
                    if not pts:
                        continue
                    x, y = zip(*pts)
                    last = ep == n_ep
                    ax.plot(
                        x,
                        y,
                        "-o",
                        color=shades[ep - 1],
                        lw=1.6 if last else 1.0,
                        ms=3.5 if last else 2.0,
                        zorder=3 if last else 2,
                    )
                ax.axhline(e["oracle_reference"][what][split], color=F.ROLE[split], ls=":", lw=1.2)
            ax.set_xscale("log")
            ax.set_xticks(lrs, [f"{v:g}" for v in lrs])
            ax.minorticks_off()
            head = LABELS[m] + (f", ascent ×{mix:g}" if mix is not None else "")
            ax.set_title(f"{head} · {s}", fontsize=9.5)
            bad = sorted({r["lr"] for r in rows if r["diverged"]})
            if bad:  # diverged grid points have no score: a black x at 0 marks them
                ax.plot(bad, [0.0] * len(bad), "kx", ms=5, mew=1.5, zorder=4)
            if j == 0:
                ax.set_ylabel("KLoM (95th pct)" if what == "klom" else "accuracy")
            if i == len(sets) - 1:
                ax.set_xlabel("unlearning lr")
    handles = [Line2D([], [], color=F.ROLE[sp], marker="o", ms=3.5, label=sp) for sp in splits]
    if n_ep > 1:
        grey = F.shades(F.GREY, n_ep, lightest=0.25)
        handles += [
            Line2D([], [], color=grey[0], lw=1.0, label="1 epoch"),
            Line2D([], [], color=grey[-1], lw=1.6, label=f"{n_ep} epochs"),
        ]
    handles.append(Line2D([], [], color=F.GREY, ls=":", lw=1.2, label="independent oracle"))
    name = "KLoM" if what == "klom" else "Accuracy"
    fig.suptitle(f"{name} of every unlearning run of the grid")
    better = "lower is closer to the oracle" if what == "klom" else "the oracle's level is the aim"
    F.legend_below(
        fig,
        handles,
        ncol=len(handles),
        note=f"One line per number of unlearning epochs (lighter: fewer, 1 to {n_ep}); "
        f"colour: the split the {name} is measured on; dotted: the same number for an "
        f"independent oracle ensemble ({better}). Rows share their y-axis.",
    )
    return fig


def plot_illusion(summary: dict[str, Any]) -> Any:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from sims import _figures as F

    sets = list(summary["forget_sets"])
    methods = summary["config"]["methods"]
    fig, axes = F.subplots(1, len(methods), panel=(4.0, 3.0), sharey=True)
    w = 0.38
    c_sel, c_held = F.ORANGE, F.PURPLE
    for j, m in enumerate(methods):
        ax = axes[0, j]
        sel = [summary["forget_sets"][s]["methods"][m]["illusion"] for s in sets]
        xs = np.arange(len(sets))
        ax.bar(xs - w / 2, [_num(d["forget_klom_on_selection_seeds"]) for d in sel], w, color=c_sel)
        ax.bar(xs + w / 2, [_num(d["forget_klom_on_held_out_seeds"]) for d in sel], w, color=c_held)
        ax.plot(xs, [d["oracle_level_halves"] for d in sel], "k_", ms=18, mew=2)
        ax.set_xticks(xs, sets, rotation=30, ha="right")
        ax.set_title(f"{LABELS[m]}: best grid point by forget KLoM")
        if j == 0:
            ax.set_ylabel("forget KLoM (95th pct, N/2 models)")
    handles = [
        Patch(color=c_sel, label="selected and scored on the same seeds"),
        Patch(color=c_held, label="same configuration, held-out seeds"),
        Line2D([], [], color="k", marker="_", ls="none", ms=14, mew=2, label="oracle vs oracle"),
    ]
    F.legend_below(fig, handles, ncol=3)
    return fig


def render_table(summary: dict[str, Any]) -> str:
    out = []
    headers = [
        "forget set",
        "method",
        "lr",
        "epochs",
        "mix",
        "KLoM F",
        "KLoM R",
        "KLoM V",
        "acc F",
        "acc V",
        "diverged",
    ]
    rows = []
    for s, e in summary["forget_sets"].items():
        for label, ref in (
            ("pretrained", e["pretrained"]),
            ("oracle (indep.)", e["oracle_reference"]),
        ):
            k, a = ref["klom"], ref["accuracy"]
            rows.append(
                [
                    s,
                    label,
                    None,
                    None,
                    None,
                    k["forget"],
                    k["retain"],
                    k["validation"],
                    a["forget"],
                    a["validation"],
                    ref["diverged"],
                ]
            )
        for m, d in e["methods"].items():
            for r in d["grid"]:
                k, a = r["klom"], r["accuracy"]
                rows.append(
                    [
                        s,
                        LABELS[m],
                        r["lr"],
                        r["epochs"],
                        r["mix"],
                        k["forget"],
                        k["retain"],
                        k["validation"],
                        a["forget"],
                        a["validation"],
                        r["diverged"],
                    ]
                )
    out.append(
        "## Every grid point (KLoM: 95th percentile over the split's points; diverged: "
        "models with non-finite parameters or margins, which leave the row without a score)"
        "\n\n"
    )
    out.append(markdown_table(headers, rows, floatfmt=".3g"))
    out.append("\n## Ascent Forgets Illusion (forget KLoM, N/2 models each)\n\n")
    out.append(illusion_table(summary))
    return "".join(out)


def illusion_table(summary: dict[str, Any]) -> str:
    headers = [
        "forget set",
        "method",
        "selected lr/epochs/mix",
        "on selection seeds",
        "on held-out seeds",
        "oracle vs oracle",
        "KLoM R",
        "KLoM V",
        "diverged configs (excluded)",
    ]
    rows = []
    for s, e in summary["forget_sets"].items():
        for m, d in e["methods"].items():
            il = d["illusion"]
            c = il["selected"]
            rows.append(
                [
                    s,
                    LABELS[m],
                    "none (no finite score)"
                    if c is None
                    else f"{c['lr']:g}/{c['epochs']}/{c['mix']:g}",
                    il["forget_klom_on_selection_seeds"],
                    il["forget_klom_on_held_out_seeds"],
                    il["oracle_level_halves"],
                    il["retain_klom_at_selected"],
                    il["validation_klom_at_selected"],
                    f"{il['diverged_configurations']}/{il['grid_points']}",
                ]
            )
    return markdown_table(headers, rows, floatfmt=".3g")
