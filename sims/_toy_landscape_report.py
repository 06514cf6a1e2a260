"""Figures and tables of the toy-landscape study (:mod:`sims.toy_landscape`)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from sims._common import markdown_table

OBJECTIVES = ("pretrained", "retain", "gda")
TITLES = {"pretrained": "pretrained", "retain": "retrain (oracle)", "gda": "GDA"}


def plot_landscapes(state: dict[str, Any], args: argparse.Namespace) -> Any:
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D

    import ascentjax as aj
    from sims import _figures as F

    s = state["summary"]
    a_f, b_f = state["axes_fine"]
    n = s["config"]["grid"][0]
    ext = [args.a_range[0], args.a_range[1], args.b_range[0], args.b_range[1]]
    # light tints of the palette for the basins (the minima and contours sit on top)
    palette = [F.shades(c, 2, lightest=0.22)[0] for c in (F.SKY, F.ORANGE, F.GREEN, F.PURPLE)]
    fig, axes = F.subplots(1, 3, panel=(4.0, 3.4))
    pre_min = [m["theta"] for m in s["objectives"]["pretrained"]["minima"]]
    for ax, k in zip(axes[0], OBJECTIVES):
        obj = s["objectives"][k]
        lab = np.asarray(obj["basin_labels"], dtype=float)
        lab[lab < 0] = np.nan
        n_min = max(1, len(obj["minima"]))
        cmap = ListedColormap([palette[j % len(palette)] for j in range(n_min)])
        ax.imshow(
            lab,
            origin="lower",
            extent=ext,
            aspect="auto",
            cmap=cmap,
            vmin=-0.5,
            vmax=n_min - 0.5,
            interpolation="nearest",
        )
        z = state["landscapes"][k]
        zs = z - z.min()
        levels = np.quantile(zs, np.linspace(0.0, 0.9, 16) ** 2) + 1e-9
        ax.contour(a_f, b_f, zs, levels=np.unique(levels), colors="0.35", linewidths=0.5)
        for j, m in enumerate(obj["minima"]):
            th = m["theta"]
            ax.plot(
                *th,
                marker="*" if j == 0 else "o",
                color=F.VERMILLION,
                mec="white",
                ms=15 if j == 0 else 9,
                zorder=5,
            )
            tag = f"L = {m['loss']:.2f}\n{m['correct_weighted']:g}/{m['total_weighted']:g} right"
            ax.annotate(tag, th, textcoords="offset points", xytext=(7, 5), fontsize=8.5)
        if k == "gda":
            for th in pre_min:
                ax.plot(*th, marker="x", color="k", ms=8, mew=1.5, zorder=5)
        wts = ", ".join(f"{v:g}" for v in np.asarray(obj["weights"]).tolist())
        ax.set_title(f"{TITLES[k]}\ncopies of x = −1, 1, 3, 4: ({wts})")
        ax.set_xlabel("a")
        ax.set_ylabel("b")
    c = s["canonical"]
    if len(c["pretrained"]):
        ax = axes[0, 1]
        path = np.stack([c["pretrained"], c["gda"], c["finetuned"]])
        ax.annotate(
            "",
            xy=path[1],
            xytext=path[0],
            arrowprops=dict(arrowstyle="->", color=F.BLUE, lw=1.8),
        )
        ax.text(*((path[0] + path[1]) / 2), "  GDA", color=F.BLUE, fontsize=9.5)
    x = ", ".join(f"{v:g}".replace("-", "−") for v in np.asarray(aj.toy.data().inputs).tolist())
    handles = [
        Line2D([], [], marker="*", ls="none", color=F.VERMILLION, ms=13, label="lowest minimum"),
        Line2D([], [], marker="o", ls="none", color=F.VERMILLION, ms=8, label="other minimum"),
        Line2D(
            [],
            [],
            marker="x",
            ls="none",
            color="k",
            ms=8,
            mew=1.5,
            label="pretrained minima (GDA panel)",
        ),
        Line2D([], [], color=F.BLUE, lw=1.8, label="GDA from the pretrained minimum"),
    ]
    fig.suptitle(
        f"Toy landscapes: h(x) = {args.output_map}(a x + b x²), λ = {args.lam:g}, "
        f"forget {args.forget} of the copies of x = 4, ascent/descent ratio {args.ratio:g}"
    )
    F.legend_below(
        fig,
        handles,
        ncol=4,
        note=(
            f"Weights: how many copies of each training point x = {x} (labels −1, +1, −1, +1) "
            "the objective counts. The oracle drops the forgotten copies; GDA subtracts them "
            "once more per unit of ascent ratio (negative weight: net ascent on that point). "
            f"Shading: basin of attraction of each minimum ({n}×{n} initialisations); "
            "contours: the loss; L: loss at the minimum; right: weighted points it classifies "
            "correctly."
        ),
    )
    return fig


def plot_phase(state: dict[str, Any]) -> Any:
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from sims import _figures as F

    ph = state["summary"]["phase_diagram"]
    r = np.asarray(ph["ratios"])
    k = np.asarray(ph["forget_counts"])
    fail = np.asarray(ph["failure"], dtype=float)
    fig, axes = F.subplots(1, 1, panel=(7.0, 3.6))
    ax = axes[0, 0]
    dr = (r[1] - r[0]) / 2 if r.size > 1 else 0.5
    ok_c, trap_c = F.shades(F.SKY, 2, lightest=0.45)[0], F.ORANGE  # blue/orange: CVD-safe
    ax.imshow(
        fail.T,
        origin="lower",
        aspect="auto",
        extent=[r[0] - dr, r[-1] + dr, k[0] - 0.5, k[-1] + 0.5],
        cmap=ListedColormap([ok_c, trap_c]),
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    rr = np.linspace(max(r[0], 1e-9), r[-1], 200)
    handles = [
        Patch(color=ok_c, label="fine-tuning after GDA recovers the oracle"),
        Patch(color=trap_c, label="trapped: misses the oracle"),
    ]
    ax.plot(rr, 4.0 / (1.0 + rr), "k:", lw=1.2)
    handles.append(
        Line2D([], [], color="k", ls=":", lw=1.2, label="GDA weight at x = 4 is 0: (1 + r) k = 4")
    )
    wc = ph["critical_gda_weight"]
    if wc is not None:
        ax.plot(rr, (4.0 - wc) / (1.0 + rr), "k--", lw=1.2)
        handles.append(
            Line2D(
                [],
                [],
                color="k",
                ls="--",
                lw=1.2,
                label=f"GDA weight at x = 4 is w* = {wc:.2f}; above this curve it is "
                "smaller and GDA lands in the inferior basin",
            )
        )
    for ex in ph["examples"]:
        ax.plot(ex["ratio"], ex["forget"], marker="o", mfc="none", mec="k", ms=12, mew=1.3)
        ax.annotate(
            f"r = {ex['ratio']:g}, k = {ex['forget']}: "
            f"{'trapped' if ex['failure'] else 'recovers'}",
            (ex["ratio"], ex["forget"]),
            textcoords="offset points",
            xytext=(9, 7),
            fontsize=8.5,
            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8),
        )
    ax.set_ylim(k[0] - 0.5, k[-1] + 0.5)
    ax.set_yticks(k)
    ax.set_xlabel("ascent / descent step-size ratio r")
    ax.set_ylabel("forget count k (copies of x = 4)")
    ax.set_title("GDA, then fine-tuning on the retain set, from the pretrained model")
    F.legend_below(
        fig,
        handles,
        ncol=1,
        note="At k = 4 no copy of x = 4 is left in the retain set, so the oracle itself is in "
        "the x = 3 basin and every run recovers it.",
    )
    return fig


def tables(summary: dict[str, Any]) -> str:
    rows = []
    for k in OBJECTIVES:
        for j, m in enumerate(summary["objectives"][k]["minima"]):
            rows.append(
                [
                    TITLES[k],
                    j,
                    float(m["theta"][0]),
                    float(m["theta"][1]),
                    m["loss"],
                    float(m["hessian_eigenvalues"][0]),
                    float(m["hessian_eigenvalues"][1]),
                    f"{m['correct_weighted']:g}/{m['total_weighted']:g}",
                    f"{m['correct_on_retain']:g}/{m['total_retain']:g}",
                    m["basin_fraction"],
                ]
            )
    t1 = markdown_table(
        [
            "objective",
            "#",
            "a",
            "b",
            "loss",
            "eig min",
            "eig max",
            "right (own)",
            "right (retain)",
            "basin share",
        ],
        rows,
    )
    t1 += (
        "\nRuns that diverged (non-finite): "
        + ", ".join(
            f"{TITLES[k]} {100 * summary['objectives'][k]['diverged_fraction']:.0f}%"
            for k in OBJECTIVES
        )
        + "\n"
    )
    t2 = markdown_table(
        [
            "pipeline (every initialisation)",
            "in oracle basin",
            "in other minimum",
            "diverged",
            "mean loss",
        ],
        [
            [
                name,
                v["fraction_in_oracle_basin"],
                v["fraction_in_other_minima"],
                v["fraction_diverged"],
                v["mean_retain_loss"],
            ]
            for name, v in summary["trap"].items()
        ],
    )
    ph = summary["phase_diagram"]
    t3 = markdown_table(
        ["ratio r", "forget k", "GDA weight at x=4", "trapped", "fine-tuned retain loss"],
        [
            [
                e["ratio"],
                e["forget"],
                e["gda_weight_at_x4"],
                e["failure"],
                e["finetuned_retain_loss"],
            ]
            for e in ph["examples"]
        ],
    )
    t4 = markdown_table(
        ["forget k", "smallest trapping ratio on the grid"],
        [[k, v] for k, v in ph["smallest_failing_ratio"].items()],
    )
    t4 += (
        f"\nCritical GDA weight at x=4 (GDA lands in the inferior basin for weights <= w*): "
        f"w* = {ph['critical_gda_weight']}\n"
    )
    return (
        "## Minima\n\n"
        + t1
        + "\n## Trap (retain objective after each pipeline)\n\n"
        + t2
        + "\n## Step-size ratio examples (App. B)\n\n"
        + t3
        + "\n## Phase diagram\n\n"
        + t4
    )
