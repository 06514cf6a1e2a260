"""Random forget sets (paper Sec. 4, Lemma 1): the oracle cannot tell F from T.

Run ``python -m sims.random_forget`` (``--help`` for the flags). For each data set

* ``gaussian``: a fresh symmetric Gaussian mixture per draw (``--dim``,
  ``--separation``): D and T are i.i.d. draws of the mixture;
* ``breast_cancer``: scikit-learn's bundled Wisconsin breast-cancer table (569 x 30,
  no download), standardised, with a bias column. The population is the table's
  empirical distribution: per draw, D and T are drawn i.i.d. **with replacement**
  from the 569 rows, so Lemma 1 holds exactly with respect to that distribution;

and for thousands of draws at once (one ``vmap`` over keys, chunked), it

1. draws a uniformly random forget set F of each size in ``--forget-sizes``, trains
   the oracle on R = D \\ F (ridge-regularised logistic regression by Newton's method,
   :func:`ascentjax.train_oracle`) and records ``Acc_F - Acc_T``; it also records the
   same gap for the pretrained model (trained on all of D) as a negative control;
2. compares the Monte-Carlo tail frequency of ``|Acc_F - Acc_T|`` with Lemma 1's
   bound ``2 exp(-2 t^2 / (1/|F| + 1/|T|))`` at every attained t, and judges a
   violation beyond Monte-Carlo error by the Dvoretzky-Kiefer-Wolfowitz band (see
   ``docs/studies/random_forget.md``);
3. runs gradient ascent (GA), simultaneous descent-ascent and iterative
   descent-ascent from each draw's pretrained model for every step size in
   ``--lrs`` and records forget accuracy, test accuracy and the distance to the
   draw's oracle along the way.

Outputs under ``--out``: ``summary.json``, ``lemma1.png``, ``unlearning.png`` and
``table.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from sims._common import (
    EXIT_DIVERGED,
    SEED_MAX,
    add_output_flags,
    bounded,
    check_interrupt,
    check_memory,
    check_representable,
    cli,
    exit_script,
    make_parser,
    markdown_table,
    open_output,
    positive_int,
    progress_bar,
    run_info,
    save_figure,
    seed_int,
    stage,
    study_config,
    use_headless_matplotlib,
    write_text,
)
from sims._devices import add_devices_flag, configure_devices

STUDY = "random_forget"
DATASETS = ("gaussian", "breast_cancer")
METHODS = ("ga", "sim_da", "iter_da")
METHOD_NAMES = {"ga": "GA", "sim_da": "simultaneous DA", "iter_da": "iterative DA"}
# Largest accepted magnitudes: far beyond any meaningful setting, and small enough that the
# data and the Newton iterations stay finite in float32.
MAX_SEPARATION = 1e3
MAX_LAM = 1e3
MAX_LR = 1e6


def build_parser() -> argparse.ArgumentParser:
    p = make_parser(
        "python -m sims.random_forget",
        "Random forget sets (paper Sec. 4, Lemma 1): the oracle's forget-test "
        "accuracy gap against Hoeffding's bound, and what GA / descent-ascent do "
        "to forget accuracy, test accuracy and the distance to the oracle.",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        default=list(DATASETS),
        help="data sets to study",
    )
    p.add_argument(
        "--draws",
        type=bounded(int, low=10, high=1_000_000),
        default=2000,
        help="random forget sets per forget size for the Lemma 1 check, in [10, 1000000]",
    )
    p.add_argument(
        "--forget-sizes",
        nargs="+",
        type=positive_int,
        default=[5, 20, 80],
        help="forget-set sizes |F| (samples, each >= 1 and < --n-train)",
    )
    p.add_argument(
        "--n-train", type=bounded(int, low=2), default=400, help="training-set size |D| (>= 2)"
    )
    p.add_argument("--n-test", type=positive_int, default=400, help="test-set size |T| (>= 1)")
    p.add_argument(
        "--dim", type=positive_int, default=10, help="dimension of the Gaussian mixture (>= 1)"
    )
    p.add_argument(
        "--separation",
        type=bounded(float, low=0.0, high=MAX_SEPARATION),
        default=1.0,
        help="distance between the Gaussian class means, in units of the noise standard "
        f"deviation, in [0, {MAX_SEPARATION:g}] (1.0: Bayes accuracy 0.69)",
    )
    p.add_argument(
        "--lam",
        type=bounded(float, low=0.0, high=MAX_LAM, low_inclusive=False),
        default=0.01,
        help=f"ridge strength lambda, in (0, {MAX_LAM:g}]",
    )
    p.add_argument(
        "--loss",
        choices=("logistic", "exp"),
        default="logistic",
        help="margin loss of oracle, pretraining and unlearning",
    )
    p.add_argument(
        "--alpha",
        type=bounded(float, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False),
        default=0.01,
        help="family-wise false-alarm level of the violation verdict, in (0, 1)",
    )
    p.add_argument(
        "--delta",
        type=bounded(float, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False),
        default=0.05,
        help="Lemma 1 level, in (0, 1): a gap below -t(delta) rejects 'this is the oracle'",
    )
    p.add_argument(
        "--unlearn-draws",
        type=positive_int,
        default=128,
        help="draws for the unlearning runs (>= 1)",
    )
    p.add_argument(
        "--unlearn-forget",
        type=positive_int,
        default=None,
        help="|F| of the unlearning runs, < --n-train (default: the largest --forget-sizes)",
    )
    p.add_argument(
        "--lrs",
        nargs="+",
        type=bounded(float, low=0.0, high=MAX_LR, low_inclusive=False),
        default=[0.01, 0.03, 0.1, 0.3],
        help=f"step sizes of the unlearning methods, each in (0, {MAX_LR:g}]",
    )
    p.add_argument("--steps", type=positive_int, default=200, help="unlearning steps (>= 1)")
    p.add_argument(
        "--stride",
        type=positive_int,
        default=20,
        help="record every STRIDE steps; must divide --steps",
    )
    p.add_argument(
        "--chunk-size", type=positive_int, default=256, help="draws per vmapped chunk (>= 1)"
    )
    p.add_argument("--seed", type=seed_int, default=0, help=f"PRNG seed, in [0, {SEED_MAX}]")
    p.add_argument("--x64", action="store_true", help="run in float64 instead of float32")
    add_output_flags(p)
    add_devices_flag(p)
    return p


def _validate(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    for k in a.forget_sizes:
        if k >= a.n_train:
            p.error(
                f"argument --forget-sizes: |F| = {k} must be < |D| = --n-train = {a.n_train} "
                "(the retain set must be nonempty)"
            )
    if a.unlearn_forget is None:
        a.unlearn_forget = max(a.forget_sizes)
    if a.unlearn_forget >= a.n_train:
        p.error(
            f"argument --unlearn-forget: |F| = {a.unlearn_forget} must be < --n-train = {a.n_train}"
        )
    if a.steps % a.stride:
        p.error(f"argument --stride: {a.stride} must divide --steps {a.steps}")
    a.forget_sizes = sorted(set(a.forget_sizes))
    check_representable(p, a, "float64" if a.x64 else "float32")
    # per draw: D and T with their features (plus a bias column), the Newton workspace
    # (d x d Hessians, the backtracking line search) and, for the unlearning runs, every
    # method x step size x recorded step; results kept on the host
    d = max(a.dim + 1, 31) if "breast_cancer" in a.datasets else a.dim + 1
    size = 4 if not a.x64 else 8
    per_draw = ((a.n_train + a.n_test) * (d + 3) * 4 + 30 * d * d) * size
    n_obs = a.steps // a.stride + 1
    lemma1 = min(a.chunk_size, a.draws * len(a.forget_sizes)) * per_draw
    unlearn = min(a.chunk_size, 64, a.unlearn_draws) * per_draw * len(METHODS) * len(a.lrs)
    host = (a.draws * len(a.forget_sizes) * 4 + a.unlearn_draws * 3 * len(a.lrs) * n_obs * 3) * 8
    flags = ["--draws", "--n-train", "--n-test", "--dim", "--chunk-size", "--unlearn-draws"]
    check_memory(p, a, max(lemma1, unlearn) + 3 * host, flags + ["--steps", "--lrs"])


# ----------------------------------------------------------------------------- data sources
def _check_sklearn(parser: argparse.ArgumentParser) -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:  # pragma: no cover - sklearn is in the dev extra
        parser.error(
            "argument --datasets: breast_cancer needs scikit-learn "
            "(pip install 'ascentjax[dev]'), or pass --datasets gaussian"
        )


def _make_source(name: str, args: argparse.Namespace, pool: Any, dtype: Any):
    """``source(key) -> (D, T)`` as ascentjax Datasets (forget all False)."""
    import jax

    import ascentjax as aj

    if name == "gaussian":

        def source(key):
            kd, kt = jax.random.split(key)
            d = aj.gaussian_mixture_data(kd, args.n_train, args.dim, args.separation, dtype=dtype)
            t = aj.gaussian_mixture_data(kt, args.n_test, args.dim, args.separation, dtype=dtype)
            return d, t

        return source
    px, py = pool.x, pool.y

    def source(key):
        return aj.resample_split(key, px, py, args.n_train, args.n_test)

    return source


# ----------------------------------------------------------------------------- the two sweeps
def _lemma1_fn(source, args):
    """One draw: the oracle's and the pretrained model's (Acc_F, Acc_T)."""
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    def one(key, n_forget):
        ks, kf = jax.random.split(key)
        data, test = source(ks)
        mask = aj.sample_forget_mask(kf, args.n_train, n_forget)
        data = data._replace(forget=mask)
        w_r = aj.train_oracle(data, args.lam, loss=args.loss)
        w_d = aj.train_oracle(data._replace(forget=jnp.zeros_like(mask)), args.lam, loss=args.loss)

        def accs(w):
            return jnp.stack([aj.accuracy(w, data.x, data.y, mask), aj.accuracy(w, test.x, test.y)])

        failed = jnp.stack([_unconverged(w_r, data, args), _unconverged(w_d, data, None, args)])
        return jnp.stack([accs(w_r), accs(w_d)]), failed  # (oracle/pretrained, F/T)

    return one


def _unconverged(w, data, *rest):
    """True when Newton's method did not find the minimiser: a non-finite result, or a
    gradient not 1000 times smaller than at the start (w = 0). ``rest`` is ``(args,)``
    for the oracle (forget rows ignored) or ``(None, args)`` for the pretrained model."""
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    args = rest[-1]
    if len(rest) == 2:  # pretrained: every row is retained
        data = data._replace(forget=jnp.zeros_like(data.forget))

    def grad(v):
        return jnp.linalg.norm(jax.grad(aj.retain_objective)(v, data, args.lam, args.loss))

    return ~jnp.all(jnp.isfinite(w)) | ~(grad(w) <= 1e-3 * grad(jnp.zeros_like(w)))


def _unlearn_fn(source, args):
    """One draw: every method x step size from the pretrained model, observed on the way."""
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    factories = {
        "ga": aj.gradient_ascent,
        "sim_da": aj.simultaneous_da,
        "iter_da": aj.iterative_da,
    }
    lrs = jnp.asarray(args.lrs)

    def one(key):
        ks, kf = jax.random.split(key)
        data, test = source(ks)
        mask = aj.sample_forget_mask(kf, args.n_train, args.unlearn_forget)
        data = data._replace(forget=mask)
        w_r = aj.train_oracle(data, args.lam, loss=args.loss)
        w_d = aj.train_oracle(data._replace(forget=jnp.zeros_like(mask)), args.lam, loss=args.loss)

        def observe(w):
            return jnp.stack(
                [
                    aj.accuracy(w, data.x, data.y, mask),
                    aj.accuracy(w, test.x, test.y),
                    jnp.linalg.norm(w - w_r),
                ]
            )

        out, div = [], []
        for m in METHODS:

            def run(lr, m=m):
                rule = factories[m](lr, lam=args.lam, loss=args.loss)
                tr = aj.run_rule(
                    rule, w_d, data, steps=args.steps, stride=args.stride, observe=observe
                )
                return tr.observed, tr.diverged

            obs, dv = jax.vmap(run)(lrs)  # (lrs, n_obs, 3)
            out.append(obs)
            div.append(dv)
        start = observe(w_d)
        return {
            "traj": jnp.stack(out),  # (methods, lrs, n_obs, 3)
            "diverged": jnp.stack(div),  # (methods, lrs)
            "pretrained": start,
            "oracle": observe(w_r),
            "oracle_failed": _unconverged(w_r, data, args),
            "pretrained_failed": _unconverged(w_d, data, None, args),
        }

    return one


def _run_chunks(fn, args_batched, chunk, desc, disable):
    """``aj.sweep`` over the rows, ``chunk`` rows per progress-bar step; numpy results."""
    import jax

    import ascentjax as aj

    n = len(args_batched[0])
    bar = progress_bar(total=n, desc=desc, unit="draw", disable=disable)

    def report(done: int, _: int) -> None:
        check_interrupt()
        bar.update(done - bar.n)

    try:
        out = aj.sweep(fn, *args_batched, progress=report, progress_every=chunk)
    finally:
        bar.close()
    return jax.tree_util.tree_map(np.asarray, out)


# ----------------------------------------------------------------------------- figures
def _plot_lemma1(results, args, path):
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


def _plot_unlearning(results, args, path):
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


# ----------------------------------------------------------------------------- main
@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_devices(args.devices)  # before JAX starts: one CPU device per core
    _validate(parser, args)
    if "breast_cancer" in args.datasets:
        _check_sklearn(parser)
    out = open_output(parser, args.out, STUDY, args.overwrite)
    use_headless_matplotlib()

    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import ascentjax as aj

    dtype = jnp.float64 if args.x64 else jnp.float32
    pool = aj.breast_cancer_data(dtype=dtype) if "breast_cancer" in args.datasets else None
    t0 = time.perf_counter()
    root = jax.random.key(args.seed)
    n_cells = len(args.datasets) * len(args.forget_sizes)
    # DKW (Massart): P(sup_t |q_hat(t) - q(t)| > eps) <= 2 exp(-2 N eps^2); Bonferroni over
    # the (data set, |F|) cells so that the family-wise false-alarm rate is <= alpha
    eps = aj.theory.dkw_band(args.draws, level=args.alpha, n_tests=n_cells)
    results: dict[str, Any] = {}
    timings: dict[str, float] = {}
    for di, name in enumerate(args.datasets):
        source = _make_source(name, args, pool, dtype)
        kd = jax.random.fold_in(root, di)
        k1, k2 = jax.random.split(kd)
        nf_all = np.repeat(np.asarray(args.forget_sizes, np.int32), args.draws)
        keys = jax.random.split(k1, len(nf_all))
        ts = time.perf_counter()
        accs, failed = _run_chunks(
            _lemma1_fn(source, args),
            (keys, nf_all),
            args.chunk_size,
            f"{name}: oracles",
            args.no_progress,
        )
        timings[f"{name}.lemma1_s"] = time.perf_counter() - ts
        accs = accs.reshape(len(args.forget_sizes), args.draws, 2, 2)
        failed = failed.reshape(len(args.forget_sizes), args.draws, 2)
        gaps_or = accs[:, :, 0, 0] - accs[:, :, 0, 1]
        gaps_pre = accs[:, :, 1, 0] - accs[:, :, 1, 1]
        stats = [
            aj.theory.lemma1_verdict(gaps_or[i], nf, args.n_test, eps)._asdict()
            for i, nf in enumerate(args.forget_sizes)
        ]
        for i, (st, g, a) in enumerate(zip(stats, gaps_pre, accs)):
            st["pretrained_mean_gap"] = float(np.mean(g))
            st["oracle_mean_acc_test"] = float(a[:, 0, 1].mean())
            st["pretrained_mean_acc_test"] = float(a[:, 1, 1].mean())
            st["t_delta"] = float(
                aj.theory.lemma1_threshold(args.delta, st["n_forget"], args.n_test)
            )
            st["oracle_frac_gap_below_minus_t_delta"] = float(np.mean(gaps_or[i] < -st["t_delta"]))
            st["oracle_unconverged"] = int(np.sum(failed[i, :, 0]))
            st["pretrained_unconverged"] = int(np.sum(failed[i, :, 1]))
        ts = time.perf_counter()
        ukeys = jax.random.split(k2, args.unlearn_draws)
        u = _run_chunks(
            _unlearn_fn(source, args),
            (ukeys,),
            min(args.chunk_size, 64),
            f"{name}: unlearning",
            args.no_progress,
        )
        timings[f"{name}.unlearn_s"] = time.perf_counter() - ts
        # prepend step 0 (the pretrained model) to every trajectory
        start = np.broadcast_to(
            u["pretrained"][:, None, None, None, :], u["traj"][:, :, :, :1].shape
        )
        u["traj"] = np.concatenate([start, u["traj"]], axis=3)
        u["t_delta"] = float(
            aj.theory.lemma1_threshold(args.delta, args.unlearn_forget, args.n_test)
        )
        # the oracle's actual gap distribution at this |F| (from part 1), far tighter than
        # Hoeffding: its delta/2 quantile is where oracles really lie
        u["oracle_gap_quantile"] = (
            float(
                np.quantile(gaps_or[args.forget_sizes.index(args.unlearn_forget)], args.delta / 2)
            )
            if args.unlearn_forget in args.forget_sizes
            else None
        )
        results[name] = {"gaps_oracle": gaps_or, "gaps_pretrained": gaps_pre, "stats": stats}
        results[name]["unlearn"] = u

    ts = time.perf_counter()
    with stage("drawing lemma1.png, unlearning.png", disable=args.no_progress):
        _plot_lemma1(results, args, out / "lemma1.png")
        _plot_unlearning(results, args, out / "unlearning.png")
    timings["figures_s"] = time.perf_counter() - ts
    table, rows_json = _tables(results, args)
    failures = _reference_failures(results)
    worst = max((s for r in results.values() for s in r["stats"]), key=lambda s: s["max_excess"])
    summary = {
        "study": STUDY,
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
        "reference_models_unconverged": failures,
    }
    write_text(out / "table.md", table)
    elapsed = time.perf_counter() - t0
    info = run_info(
        STUDY,
        argv,
        dtype="float64" if args.x64 else "float32",
        timings_s={**timings, "total": elapsed},
        wall_s=elapsed,
    )
    final = out.finish(summary, info)
    print(table)
    verdict = (
        "NO violation"
        if not summary["largest_violation"]["beyond_monte_carlo_error"]
        else ("VIOLATION")
    )
    print(
        f"largest excess of tail frequency over the bound: {worst['max_excess']:+.4f} "
        f"(|F|={worst['n_forget']}, t={worst['t_at_max_excess']:.3f}); DKW eps={eps:.4f}: "
        f"{verdict} beyond Monte-Carlo error"
    )
    print(f"wrote {final}/summary.json, lemma1.png, unlearning.png, table.md ({elapsed:.1f} s)")
    if failures:
        print(
            "reference models did not converge ("
            + ", ".join(f"{k}: {v}" for k, v in failures.items())
            + "): the comparisons with them are void (exit status 1)",
            file=sys.stderr,
        )
        return EXIT_DIVERGED
    return 0


def _reference_failures(results: dict[str, Any]) -> dict[str, int]:
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


def _tables(results, args):
    lines = ["# Random forget sets (Lemma 1)\n"]
    failures = _reference_failures(results)
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


if __name__ == "__main__":
    exit_script(main)
