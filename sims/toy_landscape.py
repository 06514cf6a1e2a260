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
from sims._toy_landscape_report import OBJECTIVES, TITLES, plot_landscapes, plot_phase, tables

STUDY = "toy_landscape"

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
    ratio = f"in [0, {MAX_RATIO:g}]"
    for flag, kind, default, text in (
        ("--seeds", bounded(int, low=4, high=1_000_000), 4096, "number of initialisations, "
         "in [4, 1000000], laid out as an n x n grid with n = ceil(sqrt(seeds))"),
        ("--resolution", bounded(int, low=8, high=2000), 200,
         "points per axis of the plotted loss landscapes, in [8, 2000]"),
        ("--lam", bounded(float, low=0.0, high=MAX_LAM), 0.1,
         f"ridge strength lambda, in [0, {MAX_LAM:g}]"),
        ("--forget", bounded(int, low=0, high=4), 2, "copies of x = 4 forgotten, in [0, 4]"),
        ("--ratio", bounded(float, low=0.0, high=MAX_RATIO), 1.0,
         f"ascent/descent step-size ratio r of GDA, {ratio}"),
        ("--steps", bounded(int, low=100, high=1_000_000), 10_000,
         "gradient-descent steps of every stage, in [100, 1000000]"),
        ("--phase-max-ratio", bounded(float, low=0.0, high=MAX_RATIO, low_inclusive=False), 4.0,
         f"largest step-size ratio of the phase diagram, in (0, {MAX_RATIO:g}]"),
        ("--phase-points", bounded(int, low=2, high=2000), 33,
         "ratios in [0, --phase-max-ratio] in the phase diagram, in [2, 2000]"),
    ):  # fmt: skip
        p.add_argument(flag, type=kind, default=default, help=text)
    p.add_argument(
        "--output-map",
        choices=("tanh", "tanh_half", "paper_sigmoid"),
        default="tanh",
        help="output map s in h(x) = s(a x + b x^2) (see the docs)",
    )
    for axis, default in (("a", (-0.5, 3.0)), ("b", (-1.25, 0.25))):
        p.add_argument(
            f"--{axis}-range",
            type=bounded(float, low=-20, high=20),
            nargs=2,
            default=default,
            metavar=("LOW", "HIGH"),
            help=f"range of {axis} for the initialisations and plots, within [-20, 20]",
        )
    p.add_argument("--x64", action="store_true", help="compute in float64 instead of float32")
    add_output_flags(p)
    add_devices_flag(p)
    return p


def run(args: argparse.Namespace) -> dict[str, Any]:
    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import ascentjax as aj

    toy = aj.toy
    dt = jnp.float64 if args.x64 else jnp.float32
    tol = 1e-4 if args.x64 else 1e-2
    kw = dict(lam=args.lam, output_map=args.output_map)
    n = math.ceil(math.sqrt(args.seeds))
    a_ax, b_ax, inits = toy.grid(tuple(args.a_range), tuple(args.b_range), n, n, dt)
    weights = toy.Weights(
        *(jnp.asarray(v, dt) for v in toy.weights(forget=args.forget, ratio=args.ratio))
    )
    w = weights._asdict()
    S = inits.shape[0]
    timings: dict[str, float] = {}
    state: dict[str, Any] = {}
    for stage in progress(
        ["minima", "trap", "phase", "landscapes"], desc=STUDY, disable=args.no_progress
    ):
        t0 = time.perf_counter()
        if stage == "minima":  # one batch: every initialisation under the three objectives
            ends = toy.descend(
                inits[None], jnp.stack([w[k] for k in OBJECTIVES])[:, None], steps=args.steps, **kw
            )
            state["basins"] = basins = {
                k: toy.find_minima(w[k], inits, endpoints=ends[i], **kw)
                for i, k in enumerate(OBJECTIVES)
            }
            state["diverged"] = {
                k: float(np.mean(~np.all(np.isfinite(np.asarray(ends[i])), -1)))
                for i, k in enumerate(OBJECTIVES)
            }
            for k in ("pretrained", "retain"):
                if basins[k].minima.shape[0] == 0:
                    raise ReferenceDiverged(
                        f"gradient descent on the {TITLES[k]} objective found no minimum "
                        f"({100 * state['diverged'][k]:.0f}% of the runs became non-finite); "
                        "lower --lam or --ratio"
                    )
        elif stage == "trap":  # four pipelines from every initialisation
            basins = state["basins"]
            pre_pts = basins["pretrained"].endpoints
            _, gda_ft = toy.gda_then_finetune(
                pre_pts, weights, steps=args.steps, polish_iterations=50, **kw
            )
            ft = toy.descend(
                jnp.stack([pre_pts, basins["gda"].endpoints]), w["retain"], steps=args.steps, **kw
            )
            state["trap"] = dict(
                oracle=basins["retain"].endpoints,
                finetune_pretrained=ft[0],
                gda_then_finetune=gda_ft,
                gda_from_init_then_finetune=ft[1],
            )
        elif stage == "phase":
            state["phase"] = _phase(toy, jnp, args, dt, tol, state["basins"], kw)
        else:
            res = args.resolution
            a_f = jnp.linspace(args.a_range[0], args.a_range[1], res, dtype=dt)
            b_f = jnp.linspace(args.b_range[0], args.b_range[1], res, dtype=dt)
            state["landscapes"] = {
                k: np.asarray(toy.landscape(w[k], a_f, b_f, **kw)) for k in OBJECTIVES
            }
            state["axes_fine"] = (np.asarray(a_f), np.asarray(b_f))
        timings[stage] = time.perf_counter() - t0

    basins = state["basins"]
    ret_min, pre_min = (np.asarray(basins[k].minima, np.float64) for k in ("retain", "pretrained"))
    data = toy.data(dt)

    def loss(theta: Any, k: str) -> np.ndarray:
        return np.asarray(toy.loss(jnp.asarray(theta, dt), w[k], **kw), dtype=np.float64)

    minima_out: dict[str, Any] = {}
    ret_w = np.asarray(w["retain"], dtype=np.float64)
    for k in OBJECTIVES:
        B, lab = basins[k], np.asarray(basins[k].labels)
        pos = np.maximum(np.asarray(w[k], dtype=np.float64), 0.0)
        rows = [
            dict(
                theta=np.asarray(B.minima[j], dtype=np.float64),
                loss=float(B.losses[j]),
                hessian_eigenvalues=np.asarray(B.hessian_eigenvalues[j], dtype=np.float64),
                correct=(corr := np.asarray(B.correct[j])),
                correct_weighted=float(np.sum(pos * corr)),
                total_weighted=float(np.sum(pos)),
                correct_on_retain=float(np.sum(ret_w * corr)),
                total_retain=float(np.sum(ret_w)),
                basin_fraction=float(np.mean(lab == j)),
            )
            for j in range(B.minima.shape[0])
        ]
        minima_out[k] = dict(
            weights=np.asarray(w[k], dtype=np.float64),
            minima=rows,
            unconverged_fraction=float(np.mean(lab < 0)),
            diverged_fraction=state["diverged"][k],
            basin_labels=lab.reshape(n, n),
        )

    # GDA's minima in the pretrained landscape: descend the pretrained objective from them.
    gda_min = basins["gda"].minima
    gda_in_pre = np.zeros(0, int)
    if gda_min.shape[0]:
        ends = toy.descend(gda_min, w["pretrained"], steps=args.steps, **kw)
        gda_in_pre = toy.assign(ends, w["pretrained"], pre_min, tol=tol, **kw)[1]

    trap_out: dict[str, Any] = {}
    for name, ends in state["trap"].items():
        pts, lab = toy.assign(ends, w["retain"], ret_min, tol=tol, **kw)
        lab = np.asarray(lab)
        trap_out[name] = dict(
            fraction_in_oracle_basin=float(np.mean(lab == 0)),
            fraction_in_other_minima=float(np.mean(lab > 0)),
            fraction_unassigned=float(np.mean(lab < 0)),
            fraction_diverged=float(np.mean(~np.all(np.isfinite(np.asarray(ends)), -1))),
            mean_retain_loss=_finite_mean(loss(pts, "retain")),
        )

    # The canonical pipeline: from the pretrained model (its global minimum), with the
    # run's --forget and --ratio (computed with the phase diagram's examples).
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
            toy.correct(jnp.asarray(ex["finetuned"], dt), data, args.output_map)
        ),
    )
    config = {k: getattr(args, k) for k in ("resolution", "output_map", "lam", "forget", "ratio")}
    summary = dict(
        study=STUDY,
        config=dict(
            seeds=S,
            grid=[n, n],
            **config,
            steps=args.steps,
            a_range=list(args.a_range),
            b_range=list(args.b_range),
            dtype=str(jnp.dtype(dt)),
            data={k: np.asarray(v, np.float64) for k, v in data._asdict().items()},
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


def _phase(toy, jnp, args, dt, tol, basins, kw) -> dict[str, Any]:
    """App. B: the library's phase diagram, its named examples and the critical GDA weight."""
    pre_min = np.asarray(basins["pretrained"].minima, dtype=np.float64)
    th_pre = jnp.asarray(pre_min[0], dt)
    coarse = toy.grid(tuple(args.a_range), tuple(args.b_range), 24, 24, dt)[2]
    ph = toy.phase_diagram(
        th_pre,
        np.linspace(0.0, args.phase_max_ratio, args.phase_points),
        steps=args.steps,
        tol=tol,
        oracle_inits=coarse,
        **kw,
    )
    examples = [(1.0, 2), (2.0, 1), (3.0, 1), (float(args.ratio), int(args.forget))]
    forget = np.zeros((len(examples), 4))
    forget[:, -1] = [k for _, k in examples]
    ex_w = toy.weights(forget=forget, ratio=np.array([r for r, _ in examples]))
    ex_w = toy.Weights(*(jnp.asarray(v, dt) for v in ex_w))
    g, f = toy.gda_then_finetune(th_pre, ex_w, steps=args.steps, polish_iterations=50, **kw)
    f_loss = np.asarray(toy.loss(f, ex_w.retain, **kw), np.float64)
    g, f = np.asarray(g, np.float64), np.asarray(f, np.float64)
    oracles, oracle_l = np.asarray(ph.oracles, np.float64), np.asarray(ph.oracle_losses)
    critical = None
    if len(pre_min) > 1:  # GDA can only leave the global minimum's basin if there is another
        w_axis = np.linspace(-1.0, 2.0, 301)
        critical = toy.critical_gda_weight(th_pre, th_pre, w_axis, steps=args.steps, tol=tol, **kw)
    ex_out = [
        dict(
            ratio=r,
            forget=k,
            gda_weight_at_x4=float(ex_w.gda[j, -1]),
            gda_solution=g[j],
            finetuned=f[j],
            oracle=oracles[k],
            failure=bool(np.linalg.norm(f[j] - oracles[k]) > tol),
            finetuned_retain_loss=float(f_loss[j]),
            oracle_retain_loss=float(oracle_l[k]),
        )
        for j, (r, k) in enumerate(examples)
    ]
    smallest = np.asarray(ph.smallest_failing_ratio())
    return dict(
        ratios=np.asarray(ph.ratios),
        forget_counts=np.asarray(ph.forget_counts),
        critical_gda_weight=critical,
        gda_weight_at_x4=np.asarray(ph.gda_weight_at_last),
        failure=np.asarray(ph.failure),
        retain_loss_gap=np.asarray(ph.retain_loss_gap, np.float64),
        gda_solution=np.asarray(ph.gda_solution, np.float64),
        finetuned=np.asarray(ph.finetuned, np.float64),
        oracles=oracles,
        oracle_losses=oracle_l,
        smallest_failing_ratio={
            int(k): (None if np.isnan(v) else float(v))
            for k, v in zip(np.asarray(ph.forget_counts), smallest)
        },
        examples=ex_out[:3],
        canonical=ex_out[3],
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
