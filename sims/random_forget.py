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
import importlib.util
import time
from typing import Any

import numpy as np

from sims import _random_forget_report as report
from sims._common import (
    EXIT_DIVERGED,
    add_flags,
    add_run_flags,
    bounded,
    check_memory,
    check_representable,
    cli,
    dtype_name,
    exit_script,
    lam_flag,
    loss_flag,
    make_parser,
    open_output,
    parse_flags,
    positive_int,
    run_info,
    seed_flag,
    stage,
    sweep_with_bar,
    use_headless_matplotlib,
    write_text,
)

STUDY = "random_forget"
DATASETS = ("gaussian", "breast_cancer")
METHODS = report.METHODS
# Largest accepted magnitudes: far beyond any meaningful setting, and small enough that the
# data and the Newton iterations stay finite in float32.
MAX_SEPARATION = 1e3
MAX_LAM = 1e3
MAX_LR = 1e6
UNIT_OPEN = bounded(float, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)


def build_parser() -> argparse.ArgumentParser:
    p = make_parser(
        "python -m sims.random_forget",
        "Random forget sets (paper Sec. 4, Lemma 1): the oracle's forget-test "
        "accuracy gap against Hoeffding's bound, and what GA / descent-ascent do "
        "to forget accuracy, test accuracy and the distance to the oracle.",
    )
    # fmt: off
    add_flags(p, [
        ("--datasets", None, list(DATASETS),
         "data sets to study", dict(nargs="+", choices=DATASETS)),
        ("--draws", bounded(int, low=10, high=1_000_000), 2000,
         "random forget sets per forget size for the Lemma 1 check, in [10, 1000000]"),
        ("--forget-sizes", positive_int, [5, 20, 80],
         "forget-set sizes |F| (samples, each >= 1 and < --n-train)", dict(nargs="+")),
        ("--n-train", bounded(int, low=2), 400, "training-set size |D| (>= 2)"),
        ("--n-test", positive_int, 400, "test-set size |T| (>= 1)"),
        ("--dim", positive_int, 10, "dimension of the Gaussian mixture (>= 1)"),
        ("--separation", bounded(float, low=0.0, high=MAX_SEPARATION), 1.0,
         "distance between the Gaussian class means, in units of the noise standard "
         f"deviation, in [0, {MAX_SEPARATION:g}] (1.0: Bayes accuracy 0.69)"),
        lam_flag(MAX_LAM),
        loss_flag("logistic", "margin loss of oracle, pretraining and unlearning"),
        ("--alpha", UNIT_OPEN, 0.01,
         "family-wise false-alarm level of the violation verdict, in (0, 1)"),
        ("--delta", UNIT_OPEN, 0.05,
         "Lemma 1 level, in (0, 1): a gap below -t(delta) rejects 'this is the oracle'"),
        ("--unlearn-draws", positive_int, 128, "draws for the unlearning runs (>= 1)"),
        ("--unlearn-forget", positive_int, None,
         "|F| of the unlearning runs, < --n-train (default: the largest --forget-sizes)"),
        ("--lrs", bounded(float, low=0.0, high=MAX_LR, low_inclusive=False),
         [0.01, 0.03, 0.1, 0.3],
         f"step sizes of the unlearning methods, each in (0, {MAX_LR:g}]", dict(nargs="+")),
        ("--steps", positive_int, 200, "unlearning steps (>= 1)"),
        ("--stride", positive_int, 20, "record every STRIDE steps; must divide --steps"),
        ("--chunk-size", positive_int, 256, "draws per vmapped chunk (>= 1)"),
        seed_flag(),
    ])
    # fmt: on
    p.add_argument("--x64", action="store_true", help="run in float64 instead of float32")
    add_run_flags(p)
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
    check_representable(p, a, dtype_name(a.x64))
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
    if "breast_cancer" in a.datasets and importlib.util.find_spec("sklearn") is None:
        p.error(  # pragma: no cover - sklearn is in the dev extra
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
    return lambda key: aj.resample_split(key, pool.x, pool.y, args.n_train, args.n_test)


def _references(source, args, key, n_forget):
    """One draw: D (with its forget mask), T, the oracle w_R, the pretrained w_D and
    whether Newton's method failed for each (:func:`ascentjax.theory.oracle_unconverged`)."""
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    ks, kf = jax.random.split(key)
    data, test = source(ks)
    mask = aj.sample_forget_mask(kf, args.n_train, n_forget)
    data = data._replace(forget=mask)
    full = data._replace(forget=jnp.zeros_like(mask))  # every row retained
    w_r = aj.train_oracle(data, args.lam, loss=args.loss)
    w_d = aj.train_oracle(full, args.lam, loss=args.loss)
    failed = [
        aj.theory.oracle_unconverged(w_r, data, args.lam, loss=args.loss),
        aj.theory.oracle_unconverged(w_d, full, args.lam, loss=args.loss),
    ]
    return data, test, w_r, w_d, failed


def _lemma1_fn(source, args):
    """One draw: the oracle's and the pretrained model's (Acc_F, Acc_T)."""
    import jax.numpy as jnp

    import ascentjax as aj

    def one(key, n_forget):
        data, test, w_r, w_d, failed = _references(source, args, key, n_forget)

        def accs(w):
            return jnp.stack(
                [aj.accuracy(w, data.x, data.y, data.forget), aj.accuracy(w, test.x, test.y)]
            )

        return jnp.stack([accs(w_r), accs(w_d)]), jnp.stack(failed)  # (oracle/pretrained, F/T)

    return one


def _unlearn_fn(source, args):
    """One draw: every method x step size from the pretrained model, observed on the way."""
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    factories = {"ga": aj.gradient_ascent, "sim_da": aj.simultaneous_da, "iter_da": aj.iterative_da}
    lrs = jnp.asarray(args.lrs)

    def one(key):
        data, test, w_r, w_d, failed = _references(source, args, key, args.unlearn_forget)

        def observe(w):
            acc_f = aj.accuracy(w, data.x, data.y, data.forget)
            return jnp.stack([acc_f, aj.accuracy(w, test.x, test.y), jnp.linalg.norm(w - w_r)])

        def run(lr, m):
            rule = factories[m](lr, lam=args.lam, loss=args.loss)
            tr = aj.run_rule(rule, w_d, data, steps=args.steps, stride=args.stride, observe=observe)
            return tr.observed, tr.diverged

        out = [jax.vmap(lambda lr, m=m: run(lr, m))(lrs) for m in METHODS]  # (lrs, n_obs, 3)
        return {
            "traj": jnp.stack([o[0] for o in out]),  # (methods, lrs, n_obs, 3)
            "diverged": jnp.stack([o[1] for o in out]),  # (methods, lrs)
            "pretrained": observe(w_d),
            "oracle": observe(w_r),
            "oracle_failed": failed[0],
            "pretrained_failed": failed[1],
        }

    return one


def _lemma1_stats(accs, failed, args, eps) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Per |F|: the oracle's verdict (:func:`ascentjax.theory.lemma1_verdict`) and the
    pretrained control; ``accs`` is ``(|F| x draws, oracle/pretrained, F/T)``."""
    import ascentjax as aj

    accs = accs.reshape(len(args.forget_sizes), args.draws, 2, 2)
    failed = failed.reshape(len(args.forget_sizes), args.draws, 2)
    gaps_or = accs[:, :, 0, 0] - accs[:, :, 0, 1]
    gaps_pre = accs[:, :, 1, 0] - accs[:, :, 1, 1]
    stats = []
    for i, nf in enumerate(args.forget_sizes):
        st = aj.theory.lemma1_verdict(gaps_or[i], nf, args.n_test, eps)._asdict()
        st["pretrained_mean_gap"] = float(np.mean(gaps_pre[i]))
        st["oracle_mean_acc_test"] = float(accs[i, :, 0, 1].mean())
        st["pretrained_mean_acc_test"] = float(accs[i, :, 1, 1].mean())
        st["t_delta"] = float(aj.theory.lemma1_threshold(args.delta, nf, args.n_test))
        st["oracle_frac_gap_below_minus_t_delta"] = float(np.mean(gaps_or[i] < -st["t_delta"]))
        st["oracle_unconverged"] = int(np.sum(failed[i, :, 0]))
        st["pretrained_unconverged"] = int(np.sum(failed[i, :, 1]))
        stats.append(st)
    return gaps_or, gaps_pre, stats


def _finish_unlearn(u: dict[str, Any], gaps_or: np.ndarray, args) -> dict[str, Any]:
    """Prepend step 0 (the pretrained model) to every trajectory; add the thresholds."""
    import ascentjax as aj

    start = np.broadcast_to(u["pretrained"][:, None, None, None, :], u["traj"][:, :, :, :1].shape)
    u["traj"] = np.concatenate([start, u["traj"]], axis=3)
    u["t_delta"] = float(aj.theory.lemma1_threshold(args.delta, args.unlearn_forget, args.n_test))
    # the oracle's actual gap distribution at this |F| (from part 1), far tighter than
    # Hoeffding: its delta/2 quantile is where oracles really lie
    u["oracle_gap_quantile"] = None
    if args.unlearn_forget in args.forget_sizes:
        at = gaps_or[args.forget_sizes.index(args.unlearn_forget)]
        u["oracle_gap_quantile"] = float(np.quantile(at, args.delta / 2))
    return u


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_flags(parser, argv, _validate)
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
    quiet = args.no_progress
    for di, name in enumerate(args.datasets):
        source = _make_source(name, args, pool, dtype)
        k1, k2 = jax.random.split(jax.random.fold_in(root, di))
        nf_all = np.repeat(np.asarray(args.forget_sizes, np.int32), args.draws)
        keys = jax.random.split(k1, len(nf_all))
        ts = time.perf_counter()
        fn = _lemma1_fn(source, args)
        accs, failed = sweep_with_bar(
            fn, keys, nf_all, every=args.chunk_size, desc=f"{name}: oracles", disable=quiet
        )
        timings[f"{name}.lemma1_s"] = time.perf_counter() - ts
        gaps_or, gaps_pre, stats = _lemma1_stats(accs, failed, args, eps)
        ts = time.perf_counter()
        ukeys = jax.random.split(k2, args.unlearn_draws)
        every = min(args.chunk_size, 64)
        desc = f"{name}: unlearning"
        u = sweep_with_bar(_unlearn_fn(source, args), ukeys, every=every, desc=desc, disable=quiet)
        timings[f"{name}.unlearn_s"] = time.perf_counter() - ts
        results[name] = {"gaps_oracle": gaps_or, "gaps_pretrained": gaps_pre, "stats": stats}
        results[name]["unlearn"] = _finish_unlearn(u, gaps_or, args)

    ts = time.perf_counter()
    with stage("drawing lemma1.png, unlearning.png", disable=quiet):
        report.plot_lemma1(results, args, out / "lemma1.png")
        report.plot_unlearning(results, args, out / "unlearning.png")
    timings["figures_s"] = time.perf_counter() - ts
    table, rows_json = report.tables(results, args)
    summary = report.summary(results, args, eps, rows_json)
    write_text(out / "table.md", table)
    elapsed = time.perf_counter() - t0
    timings_s = {**timings, "total": elapsed}
    info = run_info(STUDY, argv, dtype=dtype_name(args.x64), timings_s=timings_s, wall_s=elapsed)
    final = out.finish(summary, info)
    report.print_result(table, summary, final, elapsed)
    return EXIT_DIVERGED if summary["reference_models_unconverged"] else 0


if __name__ == "__main__":
    exit_script(main)
