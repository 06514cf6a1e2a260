"""Stress-test an unlearning method on the constructions where ascent fails.

Run ``python -m sims.stress --method path/to/file.py:my_method`` (or
``--method PKG.MODULE:NAME``, repeatable; ``--help`` for the flags). Each method is a factory
``method(problem, learning_rate, **hyper) -> ascentjax.UnlearningRule`` that reads only the
model-agnostic :class:`ascentjax.stress.StressProblem`. Beside the nine built-in baselines it
runs through

1. the cross-correlated block over (rho, alpha), exponential and logistic loss, scored by
   R = |theta_U - theta_R| / |theta_D - theta_R| against the exact oracle, the share of the
   grid with R > 1, divergence and the wrong-side ordering;
2. the one-coordinate setting over (lambda, alpha), the three branch cases of w_DA;
3. the nonconvex toy model: does the method end in the retain objective's inferior basin,
   and does fine-tuning on the retain set leave it;
4. random forget sets (a Gaussian mixture, and the breast-cancer table from ``--suite
   default``): the forget/test accuracy gap against Lemma 1 and the oracle's own gap.

Learning rates are multiples of each problem's step unit 1/L (L the top eigenvalue of the
retain objective's Hessian at the pretrained model); each method's multiplier is chosen per
setting on half the seeds and scored on the others. Outputs in ``--out``: ``scorecard.md``
(also printed), ``heatmaps.png`` (R over (rho, alpha) per method), ``results.csv`` (one row
per method x learning rate x grid point x seed), ``summary.json`` (byte-identical for a
given set of flags) and ``run.json``.

Everything runs in float64 (the CLI enables x64; the library itself never does).
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from typing import Any

import numpy as np

from sims._common import (
    SEED_MAX,
    add_output_flags,
    bounded,
    cli,
    exit_script,
    make_parser,
    markdown_table,
    open_output,
    run_info,
    save_figure,
    seed_int,
    stage,
    use_headless_matplotlib,
    write_text,
)
from sims._devices import add_devices_flag, configure_devices
from sims._plugins import method_type

STUDY = "stress"
SUITE_NAMES = ("quick", "default", "full")
MAX_LR = 10.0  # multiples of 1/L: plain gradient descent is unstable beyond 2
MAX_STEPS = 1_000_000
MAX_SEEDS = 100_000
BASELINE_NAMES = (
    "retrain",
    "finetune",
    "gradient_ascent",
    "simultaneous_da",
    "iterative_da",
    "npo",
    "scrub",
    "noisy_gd",
    "newton",
)  # the keys of ascentjax.stress.BASELINES (tested), listed here so --help imports no JAX


def build_parser() -> argparse.ArgumentParser:
    p = make_parser(
        "python -m sims.stress",
        "Run unlearning methods (yours and nine baselines) through the block, one-coordinate, "
        "toy and random-forget settings and print their scorecard against the oracle.",
    )
    p.add_argument(
        "--method",
        type=_method_arg,
        action="append",
        default=[],
        metavar="SPEC",
        help="a method factory method(problem, learning_rate, **hyper) -> UnlearningRule, "
        "as PKG.MODULE:NAME or path/to/file.py:NAME (repeatable)",
    )
    p.add_argument(
        "--baselines",
        nargs="+",
        choices=BASELINE_NAMES,
        default=list(BASELINE_NAMES),
        metavar="NAME",
        help="built-in baselines run beside your methods (default: all nine: "
        + ", ".join(BASELINE_NAMES)
        + ")",
    )
    p.add_argument(
        "--suite", choices=SUITE_NAMES, default="default", help="grid sizes, seeds and steps"
    )
    p.add_argument(
        "--learning-rates",
        type=bounded(float, low=0.0, high=MAX_LR, low_inclusive=False),
        nargs="+",
        default=None,
        metavar="LR",
        help=f"learning-rate multipliers of each problem's step unit 1/L, each in (0, {MAX_LR:g}] "
        "(default: the suite's)",
    )
    p.add_argument(
        "--steps",
        type=bounded(int, low=1, high=MAX_STEPS),
        default=None,
        help=f"steps of every run, in [1, {MAX_STEPS}] (default: the suite's)",
    )
    p.add_argument(
        "--seeds",
        type=bounded(int, low=2, high=MAX_SEEDS),
        default=None,
        help=f"seeds of every setting, in [2, {MAX_SEEDS}]: half select the learning rate, "
        "half are scored (default: the suite's)",
    )
    p.add_argument("--seed", type=seed_int, default=0, help=f"PRNG seed, in [0, {SEED_MAX}]")
    add_output_flags(p)
    add_devices_flag(p)
    return p


def _method_arg(text: str) -> tuple[str, Any]:
    """argparse ``type=`` for ``--method``: ``(spec, callable)`` via :func:`method_type`."""
    return text, method_type(text)


def _methods(args: argparse.Namespace) -> dict[str, Any]:
    import ascentjax as aj

    methods: dict[str, Any] = {n: aj.stress.BASELINES[n] for n in dict.fromkeys(args.baselines)}
    for spec, fn in args.method:
        name = spec.rpartition(":")[2]
        methods[name if name not in BASELINE_NAMES else spec] = fn
    return methods


def _csv(records: list[dict[str, Any]]) -> str:
    cols = list(dict.fromkeys(k for r in records for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in cols})
    return buf.getvalue()


def _heatmaps(result: Any) -> Any:
    import matplotlib.colors as mcolors

    from sims import _figures as F

    methods = list(result.heatmaps)
    blocks = [s for s in result.grids if s.startswith("block")]
    fig, axes = F.subplots(
        len(methods), len(blocks), panel=(3.4, 2.3), sharex=True, sharey=True, extra_height=0.6
    )
    norm = mcolors.TwoSlopeNorm(vmin=-2.0, vcenter=0.0, vmax=2.0)
    image = None
    for i, name in enumerate(methods):
        for j, sname in enumerate(blocks):
            ax = axes[i, j]
            grid = result.grids[sname]
            rhos, alphas = sorted(set(grid["rho"])), sorted(set(grid["alpha"]))
            r = np.asarray(result.heatmaps[name][sname], float)
            logr = np.log10(np.clip(r, 1e-2, 1e2))
            ax.set_facecolor(F.LIGHT)  # diverged: no R, grey
            image = ax.pcolormesh(
                np.arange(len(alphas) + 1),
                np.arange(len(rhos) + 1),
                np.ma.masked_invalid(logr),
                cmap="RdBu_r",
                norm=norm,
            )
            ax.set_xticks(np.arange(len(alphas)) + 0.5, [f"{a:g}" for a in alphas], fontsize=6)
            ax.set_yticks(np.arange(len(rhos)) + 0.5, [f"{p:g}" for p in rhos], fontsize=7)
            if i == 0:
                ax.set_title(sname)
            if j == 0:
                ax.set_ylabel(f"{name}\nrho", fontsize=8)
            if i == len(methods) - 1:
                ax.set_xlabel("alpha")
    cbar = fig.colorbar(image, ax=axes, location="bottom", shrink=0.6, pad=0.02)
    cbar.set_label("log10 R  (R > 1: worse than the pretrained model; grey: diverged)")
    return fig


def _summary(result: Any, args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    return {
        "study": STUDY,
        "suite": args.suite,
        "seed": args.seed,
        "methods": names,
        "config": result.config,
        "grids": result.grids,
        "scorecard": result.scorecard,
        "heatmaps": {m: {s: v.tolist() for s, v in d.items()} for m, d in result.heatmaps.items()},
    }


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_devices(args.devices)  # before JAX starts
    out = open_output(parser, args.out, STUDY, args.overwrite)

    import jax

    import ascentjax as aj

    jax.config.update("jax_enable_x64", True)  # the CLI scores in float64
    use_headless_matplotlib()
    t0 = time.perf_counter()
    methods = _methods(args)
    bar = stage("stress suite", disable=args.no_progress)
    bar.__enter__()
    try:
        result = aj.stress.run_suite(
            methods,
            args.suite,
            learning_rates=args.learning_rates,
            steps=args.steps,
            seeds=args.seeds,
            key=jax.random.key(args.seed),
        )
    finally:
        bar.__exit__(None, None, None)
    headers, rows = aj.stress.scorecard_rows(result.scorecard)
    legend = (
        "\nCell: median R at the selected learning rate over the scoring seeds (R = "
        "|theta_U - theta_R| / |theta_D - theta_R|; 1 = unchanged, > 1 = worse), then the "
        "share with R > 1, the share diverged (never scored), the share on the wrong side "
        "of the pretrained model; toy: share in the inferior basin before -> after "
        "fine-tuning; random forget sets: mean forget-test accuracy gap (oracle's), Lemma 1 "
        "verdict at family-wise level 0.01.\n"
    )
    table = markdown_table(headers, rows) + legend
    print(table)
    write_text(out / "scorecard.md", table)
    write_text(out / "results.csv", _csv(result.records))
    with stage("drawing heatmaps.png", disable=args.no_progress):
        save_figure(_heatmaps(result), out / "heatmaps.png")
    wall = time.perf_counter() - t0
    info = run_info(STUDY, argv, dtype="float64", timings_s={"suite": wall}, wall_s=wall)
    final = out.finish(_summary(result, args, list(methods)), info)
    print(f"wrote {final} ({wall:.1f} s)")
    return 0


if __name__ == "__main__":
    exit_script(main)
