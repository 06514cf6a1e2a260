"""The nonconvex toy of the paper's Sec. 5.2 / Fig. 5 / App. B: GDA traps the model.

Run ``python -m sims.toy_landscape`` (``--help`` for the flags). It

1. finds every local minimum of the pretrained, retrain (oracle) and GDA objectives by
   gradient descent from a dense grid of initialisations (all at once), clusters the
   endpoints into basins and draws the three landscapes with their basins of attraction
   (``landscapes.png``);
2. runs four pipelines from every initialisation of the grid and reports which fraction
   ends in the oracle's basin: the oracle itself (retrain from the initialisation),
   fine-tuning the pretrained model on the retain set, GDA from the pretrained model then
   fine-tuning, and GDA from the initialisation then fine-tuning (the trap);
3. sweeps the ascent/descent step-size ratio and the forget count (App. B) and maps where
   GDA-then-fine-tune from the pretrained model misses the oracle (``phase_diagram.png``).

Outputs under ``--out``: ``summary.json``, ``landscapes.png``, ``phase_diagram.png`` and
``table.md``.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

from sims._common import (
    ReferenceDiverged,
    add_output_flags,
    bounded,
    check_representable,
    cli,
    exit_script,
    make_parser,
    markdown_table,
    open_output,
    progress,
    run_info,
    save_figure,
    use_headless_matplotlib,
    write_text,
)
from sims._common import (
    stage as progress_stage,
)
from sims._devices import add_devices_flag, configure_devices

STUDY = "toy_landscape"
OBJECTIVES = ("pretrained", "retain", "gda")
TITLES = {"pretrained": "pretrained", "retain": "retrain (oracle)", "gda": "GDA"}
# Largest accepted magnitudes: far beyond the App. B settings, and small enough that the
# weights and the landscapes stay finite in float32.
MAX_LAM = 1e3
MAX_RATIO = 1e3


def build_parser() -> argparse.ArgumentParser:
    p = make_parser(
        "python -m sims.toy_landscape",
        "Nonconvex toy (paper Sec. 5.2, Fig. 5, App. B): landscapes, basins, the "
        "GDA trap and the step-size-ratio phase diagram.",
    )
    p.add_argument(
        "--seeds",
        type=bounded(int, low=4, high=1_000_000),
        default=4096,
        help="number of initialisations, in [4, 1000000], laid out as an n x n grid with "
        "n = ceil(sqrt(seeds))",
    )
    p.add_argument(
        "--resolution",
        type=bounded(int, low=8, high=2000),
        default=200,
        help="points per axis of the plotted loss landscapes, in [8, 2000]",
    )
    p.add_argument(
        "--output-map",
        choices=("tanh", "tanh_half", "paper_sigmoid"),
        default="tanh",
        help="output map s in h(x) = s(a x + b x^2) (see the docs)",
    )
    p.add_argument(
        "--lam",
        type=bounded(float, low=0.0, high=MAX_LAM),
        default=0.1,
        help=f"ridge strength lambda, in [0, {MAX_LAM:g}]",
    )
    p.add_argument(
        "--forget",
        type=bounded(int, low=0, high=4),
        default=2,
        help="copies of x = 4 forgotten, in [0, 4]",
    )
    p.add_argument(
        "--ratio",
        type=bounded(float, low=0.0, high=MAX_RATIO),
        default=1.0,
        help=f"ascent/descent step-size ratio r of GDA, in [0, {MAX_RATIO:g}]",
    )
    p.add_argument(
        "--steps",
        type=bounded(int, low=100, high=1_000_000),
        default=10_000,
        help="gradient-descent steps of every stage, in [100, 1000000]",
    )
    p.add_argument(
        "--phase-max-ratio",
        type=bounded(float, low=0.0, high=MAX_RATIO, low_inclusive=False),
        default=4.0,
        help=f"largest step-size ratio of the phase diagram, in (0, {MAX_RATIO:g}]",
    )
    p.add_argument(
        "--phase-points",
        type=bounded(int, low=2, high=2000),
        default=33,
        help="ratios in [0, --phase-max-ratio] in the phase diagram, in [2, 2000]",
    )
    p.add_argument(
        "--a-range",
        type=bounded(float, low=-20, high=20),
        nargs=2,
        default=(-0.5, 3.0),
        metavar=("LOW", "HIGH"),
        help="range of a for the initialisations and plots, within [-20, 20]",
    )
    p.add_argument(
        "--b-range",
        type=bounded(float, low=-20, high=20),
        nargs=2,
        default=(-1.25, 0.25),
        metavar=("LOW", "HIGH"),
        help="range of b for the initialisations and plots, within [-20, 20]",
    )
    p.add_argument("--x64", action="store_true", help="compute in float64 instead of float32")
    add_output_flags(p)
    add_devices_flag(p)
    return p


def _assign(aj: Any, endpoints: Any, weights: Any, minima: np.ndarray, tol: float, **kw) -> Any:
    """Polish endpoints on ``weights`` and label each by the minimum within ``tol`` (or -1)."""
    pts = np.asarray(aj.toy.polish(endpoints, weights, **kw), dtype=np.float64)
    if minima.shape[0] == 0:
        return pts, np.full(pts.shape[:-1], -1)
    d = np.linalg.norm(pts[..., None, :] - minima, axis=-1)
    lab = np.argmin(d, axis=-1)
    return pts, np.where(np.min(d, axis=-1) <= tol, lab, -1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import ascentjax as aj

    dt = jnp.float64 if args.x64 else jnp.float32
    tol = 1e-4 if args.x64 else 1e-2
    kw = dict(lam=args.lam, output_map=args.output_map)
    n = math.ceil(math.sqrt(args.seeds))
    a_ax, b_ax, inits = aj.toy.grid(tuple(args.a_range), tuple(args.b_range), n, n, dt)
    weights = aj.toy.weights(forget=args.forget, ratio=args.ratio)
    w = {k: jnp.asarray(getattr(weights, k), dt) for k in OBJECTIVES}
    S = inits.shape[0]
    timings: dict[str, float] = {}
    stages = ["minima", "trap", "phase", "landscapes"]
    state: dict[str, Any] = {}
    for stage in progress(stages, desc="toy_landscape", disable=args.no_progress):
        t0 = time.perf_counter()
        if stage == "minima":
            # One vmapped scan: every initialisation under the three objectives.
            ends = aj.toy.descend(
                jnp.concatenate([inits] * 3),
                jnp.concatenate([jnp.broadcast_to(w[k], (S, 4)) for k in OBJECTIVES]),
                steps=args.steps,
                **kw,
            )
            basins = {
                k: aj.toy.find_minima(w[k], inits, endpoints=ends[i * S : (i + 1) * S], **kw)
                for i, k in enumerate(OBJECTIVES)
            }
            state["basins"] = basins
            state["diverged"] = {
                k: float(np.mean(~np.all(np.isfinite(np.asarray(ends[i * S : (i + 1) * S])), -1)))
                for i, k in enumerate(OBJECTIVES)
            }
            for k in ("pretrained", "retain"):
                if basins[k].minima.shape[0] == 0:
                    raise ReferenceDiverged(
                        f"gradient descent on the {TITLES[k]} objective found no minimum "
                        f"({100 * state['diverged'][k]:.0f}% of the runs became non-finite); "
                        "lower --lam or --ratio"
                    )
        elif stage == "trap":
            basins = state["basins"]
            pre_pts = basins["pretrained"].endpoints
            # stage 2: from every pretrained model, GDA and (separately) plain fine-tuning
            s2 = aj.toy.descend(
                jnp.concatenate([pre_pts, pre_pts]),
                jnp.concatenate(
                    [jnp.broadcast_to(w["gda"], (S, 4)), jnp.broadcast_to(w["retain"], (S, 4))]
                ),
                steps=args.steps,
                **kw,
            )
            gda_from_pre = aj.toy.polish(s2[:S], w["gda"], **kw)
            ft_from_pre = s2[S:]
            gda_from_init = basins["gda"].endpoints
            # stage 3: fine-tune every GDA solution on the retain objective (descent only)
            s3 = aj.toy.descend(
                jnp.concatenate([gda_from_pre, gda_from_init]),
                w["retain"],
                steps=args.steps,
                **kw,
            )
            state["trap"] = dict(
                oracle=basins["retain"].endpoints,
                finetune_pretrained=ft_from_pre,
                gda_then_finetune=s3[:S],
                gda_from_init_then_finetune=s3[S:],
            )
        elif stage == "phase":
            state["phase"] = _phase(aj, jnp, args, dt, tol, state["basins"], kw)
        else:
            res = args.resolution
            a_f = jnp.linspace(args.a_range[0], args.a_range[1], res, dtype=dt)
            b_f = jnp.linspace(args.b_range[0], args.b_range[1], res, dtype=dt)
            state["landscapes"] = {
                k: np.asarray(aj.toy.landscape(w[k], a_f, b_f, **kw)) for k in OBJECTIVES
            }
            state["axes_fine"] = (np.asarray(a_f), np.asarray(b_f))
        timings[stage] = time.perf_counter() - t0

    basins = state["basins"]
    ret_min = np.asarray(basins["retain"].minima, dtype=np.float64)
    pre_min = np.asarray(basins["pretrained"].minima, dtype=np.float64)
    data = aj.toy.data(dt)

    def loss(theta: Any, k: str) -> np.ndarray:
        return np.asarray(aj.toy.loss(jnp.asarray(theta, dt), w[k], **kw), dtype=np.float64)

    minima_out: dict[str, Any] = {}
    for k in OBJECTIVES:
        B = basins[k]
        lab = np.asarray(B.labels)
        pos = np.maximum(np.asarray(w[k], dtype=np.float64), 0.0)
        ret_w = np.asarray(w["retain"], dtype=np.float64)
        rows = []
        for j in range(B.minima.shape[0]):
            corr = np.asarray(B.correct[j])
            rows.append(
                dict(
                    theta=np.asarray(B.minima[j], dtype=np.float64),
                    loss=float(B.losses[j]),
                    hessian_eigenvalues=np.asarray(B.hessian_eigenvalues[j], dtype=np.float64),
                    correct=corr,
                    correct_weighted=float(np.sum(pos * corr)),
                    total_weighted=float(np.sum(pos)),
                    correct_on_retain=float(np.sum(ret_w * corr)),
                    total_retain=float(np.sum(ret_w)),
                    basin_fraction=float(np.mean(lab == j)),
                )
            )
        minima_out[k] = dict(
            weights=np.asarray(w[k], dtype=np.float64),
            minima=rows,
            unconverged_fraction=float(np.mean(lab < 0)),
            diverged_fraction=state["diverged"][k],
            basin_labels=lab.reshape(n, n),
        )

    # GDA's minima in the pretrained landscape: descend the pretrained objective from them.
    gda_min = basins["gda"].minima
    if gda_min.shape[0]:
        ends = aj.toy.descend(gda_min, w["pretrained"], steps=args.steps, **kw)
        _, gda_in_pre = _assign(aj, ends, w["pretrained"], pre_min, tol, **kw)
    else:
        gda_in_pre = np.zeros(0, int)

    trap_out: dict[str, Any] = {}
    for name, ends in state["trap"].items():
        pts, lab = _assign(aj, ends, w["retain"], ret_min, tol, **kw)
        trap_out[name] = dict(
            fraction_in_oracle_basin=float(np.mean(lab == 0)),
            fraction_in_other_minima=float(np.mean(lab > 0)),
            fraction_unassigned=float(np.mean(lab < 0)),
            fraction_diverged=float(np.mean(~np.all(np.isfinite(np.asarray(ends)), -1))),
            mean_retain_loss=_finite_mean(loss(pts, "retain")),
        )

    # The canonical pipeline: from the pretrained model (its global minimum), with the
    # run's --forget and --ratio (computed with the phase diagram, in the same batch).
    phase = state["phase"]
    ex = phase.pop("canonical")
    canonical = dict(
        pretrained=pre_min[0],
        gda=ex["gda_solution"],
        finetuned=ex["finetuned"],
        oracle=ret_min[0],
        finetuned_retain_loss=float(loss(ex["finetuned"], "retain")),
        oracle_retain_loss=float(loss(ret_min[0], "retain")),
        finetuned_correct=np.asarray(
            aj.toy.correct(jnp.asarray(ex["finetuned"], dt), data, args.output_map)
        ),
    )

    summary = dict(
        study=STUDY,
        config=dict(
            seeds=S,
            grid=[n, n],
            resolution=args.resolution,
            output_map=args.output_map,
            lam=args.lam,
            forget=args.forget,
            ratio=args.ratio,
            steps=args.steps,
            a_range=list(args.a_range),
            b_range=list(args.b_range),
            dtype=str(jnp.dtype(dt)),
            data=dict(
                inputs=np.asarray(data.inputs, np.float64),
                labels=np.asarray(data.labels, np.float64),
                multiplicities=np.asarray(data.multiplicities, np.float64),
            ),
        ),
        objectives=minima_out,
        gda_minima_in_pretrained_basin=np.asarray(gda_in_pre),
        trap=trap_out,
        canonical=canonical,
        phase_diagram=phase,
    )
    state["summary"] = summary
    state["timings_s"] = timings
    return state


def _finite_mean(values: np.ndarray) -> float | None:
    """Mean over the finite values (diverged runs are counted separately), or None."""
    ok = np.isfinite(values)
    return float(np.mean(values[ok])) if ok.any() else None


def _phase(aj, jnp, args, dt, tol, basins, kw) -> dict[str, Any]:
    """GDA-then-fine-tune from the pretrained model over (ratio, forget count).

    Every configuration is one row of the same two vmapped descents (GDA, then the second
    stage), so the phase grid, the named examples, the canonical run and the sweep of the
    critical GDA weight compile once and run together.
    """
    m = np.asarray(aj.toy.data().multiplicities, dtype=np.float64)
    ratios = np.linspace(0.0, args.phase_max_ratio, args.phase_points)
    counts = np.arange(int(m[-1]) + 1)
    pre_min = np.asarray(basins["pretrained"].minima, dtype=np.float64)
    th_pre = jnp.asarray(pre_min[0], dt)
    P, K = ratios.size, counts.size
    forget = np.zeros((1, K, 4))
    forget[..., -1] = counts
    grid_w = aj.toy.weights(forget=forget, ratio=ratios[:, None])  # (P, K, 4)
    examples = [(1.0, 2), (2.0, 1), (3.0, 1), (float(args.ratio), int(args.forget))]
    ex_w = [aj.toy.weights(forget=k, ratio=r) for r, k in examples]
    # critical GDA weight at x = 4: the largest w for which GDA (weights (5, 4, 1, w)) from
    # the pretrained model ends in the pretrained objective's inferior basin
    w_axis = np.linspace(-1.0, 2.0, 301)
    crit_gda = np.concatenate([np.broadcast_to(m[:3], (301, 3)), w_axis[:, None]], axis=1)
    first = np.concatenate(
        [np.asarray(grid_w.gda).reshape(-1, 4), [np.asarray(w.gda) for w in ex_w], crit_gda]
    )
    second = np.concatenate(
        [
            np.asarray(grid_w.retain).reshape(-1, 4),
            [np.asarray(w.retain) for w in ex_w],
            np.broadcast_to(m, (301, 4)),
        ]
    )
    first, second = jnp.asarray(first, dt), jnp.asarray(second, dt)
    g = aj.toy.polish(aj.toy.descend(th_pre, first, steps=args.steps, **kw), first, **kw)
    f = aj.toy.polish(aj.toy.descend(g, second, steps=args.steps, **kw), second, **kw)
    f_loss = np.asarray(aj.toy.loss(f, second, **kw), np.float64)
    g, f = np.asarray(g, np.float64), np.asarray(f, np.float64)
    n_grid, n_ex = P * K, len(examples)

    # oracle of every forget count: the lowest minimum of its retain objective
    _, _, coarse = aj.toy.grid(tuple(args.a_range), tuple(args.b_range), 24, 24, dt)
    ret_k = jnp.asarray(np.asarray(grid_w.retain)[0], dt)  # (K, 4)
    ends = aj.toy.descend(coarse[None], ret_k[:, None], steps=args.steps, **kw)
    oracles, oracle_losses = [], []
    for i in range(K):
        B = aj.toy.find_minima(ret_k[i], coarse, endpoints=ends[i], **kw)
        oracles.append(np.asarray(B.minima[0], np.float64))
        oracle_losses.append(float(B.losses[0]))
    oracles_a, oracle_l = np.asarray(oracles), np.asarray(oracle_losses)

    f_grid = f[:n_grid].reshape(P, K, 2)
    failure = np.linalg.norm(f_grid - oracles_a[None], axis=-1) > tol
    back = f[n_grid + n_ex :]
    inferior = np.linalg.norm(back - pre_min[0], axis=-1) > tol
    critical = float(w_axis[inferior].max()) if inferior.any() and len(pre_min) > 1 else None
    ex_out = []
    for j, ((r, k), w) in enumerate(zip(examples, ex_w)):
        row = n_grid + j
        ex_out.append(
            dict(
                ratio=r,
                forget=k,
                gda_weight_at_x4=float(np.asarray(w.gda)[-1]),
                gda_solution=g[row],
                finetuned=f[row],
                oracle=oracles_a[k],
                failure=bool(np.linalg.norm(f[row] - oracles_a[k]) > tol),
                finetuned_retain_loss=float(f_loss[row]),
                oracle_retain_loss=float(oracle_l[k]),
            )
        )
    return dict(
        ratios=ratios,
        forget_counts=counts,
        critical_gda_weight=critical,
        gda_weight_at_x4=np.asarray(grid_w.gda)[..., -1],
        failure=failure,
        retain_loss_gap=f_loss[:n_grid].reshape(P, K) - oracle_l[None],
        gda_solution=g[:n_grid].reshape(P, K, 2),
        finetuned=f_grid,
        oracles=oracles_a,
        oracle_losses=oracle_l,
        smallest_failing_ratio={
            int(k): (float(ratios[failure[:, i]].min()) if failure[:, i].any() else None)
            for i, k in enumerate(counts)
        },
        examples=ex_out[:3],
        canonical=ex_out[3],
    )


# ----------------------------------------------------------------------------- outputs
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


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_devices(args.devices)  # before JAX starts: one CPU device per core
    for name in ("a_range", "b_range"):
        lo, hi = getattr(args, name)
        if not lo < hi:
            parser.error(f"argument --{name.replace('_', '-')}: LOW must be < HIGH, got {lo} {hi}")
    check_representable(parser, args, "float64" if args.x64 else "float32")
    out = open_output(parser, args.out, STUDY, args.overwrite)
    use_headless_matplotlib()
    t0 = time.perf_counter()
    state = run(args)
    summary = state["summary"]
    timings = state["timings_s"]
    text = tables(summary)
    ts = time.perf_counter()
    with progress_stage("drawing landscapes.png, phase_diagram.png", disable=args.no_progress):
        save_figure(plot_landscapes(state, args), out / "landscapes.png")
        save_figure(plot_phase(state), out / "phase_diagram.png")
    timings["figures"] = time.perf_counter() - ts
    write_text(out / "table.md", text)
    timings["total"] = time.perf_counter() - t0  # wall time, figures included
    info = run_info(
        STUDY,
        argv,
        dtype=summary["config"]["dtype"],
        timings_s=timings,
        wall_s=timings["total"],
    )
    final = out.finish(summary, info)
    print(text)
    print(
        f"total {timings['total']:.1f} s; wrote summary.json, table.md, "
        f"landscapes.png, phase_diagram.png to {final}"
    )
    return 0


if __name__ == "__main__":
    exit_script(main)
