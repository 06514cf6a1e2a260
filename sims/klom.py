"""KLoM of gradient-ascent unlearning on ensembles of small networks (paper Sec. 3, App. K).

Run ``python -m sims.klom`` (``--help`` for the flags). It

1. trains N models on the full training set (the "pretrained" models) and, for every
   forget set, 2N oracle models on the retain set (the first N are the oracle, the
   other N an *independent* oracle ensemble that measures KLoM's noise floor);
2. builds the forget sets: random ones (the paper's 10/100/500 of 50k CIFAR-10 images
   as proportional fractions of the training set) and, from a datamodel matrix
   estimated on models trained on random halves, the points with the highest and
   lowest projection on its first two principal components;
3. runs every configuration of a grid (learning rate x epochs, and the ascent/descent
   mix for GDA) of gradient ascent (GA), gradient descent/ascent (GDA) and SCRUB on
   the N pretrained models and reports KLoM (95th percentile over the forget, retain
   and validation points), accuracy and the number of diverged models (non-finite
   parameters or margins) for each; a configuration with a diverged model has no score
   (NaN KLoM and accuracy);
4. the "Ascent Forgets Illusion": the GA configuration chosen by looking at the forget
   KLoM of one half of the seeds, re-scored on the other half (fresh unlearned and
   oracle models); configurations with a diverged model are never selected.

Outputs under ``--out``: ``summary.json``, ``klom_grid.png``, ``accuracy_grid.png``,
``illusion.png`` and ``table.md``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from typing import Any

import numpy as np

from sims._common import (
    SEED_MAX,
    ReferenceDiverged,
    add_output_flags,
    bounded,
    check_memory,
    check_representable,
    cli,
    exit_script,
    make_parser,
    markdown_table,
    nonnegative_int,
    open_output,
    positive_int,
    progress_bar,
    run_info,
    save_figure,
    seed_int,
    stage,
    use_headless_matplotlib,
    write_text,
)
from sims._devices import add_devices_flag, configure_devices

STUDY = "klom"
METHODS = ("ga", "gda", "scrub")
LABELS = {"ga": "GA", "gda": "GDA", "scrub": "SCRUB"}


# Largest accepted magnitudes: far beyond any useful setting, and small enough that the
# float32 training stays finite for at least one step (a stage that then diverges is
# flagged).
MAX_LR = 1e3
# Unlearning rates may be absurd on purpose (a diverged run is reported, never scored);
# above 1e30 the step itself overflows float32 arithmetic.
MAX_UNLEARN_LR = 1e30
MAX_RIDGE = 1e6


def _rate(high: float) -> Any:
    return bounded(float, low=0.0, high=high, low_inclusive=False)


def build_parser() -> argparse.ArgumentParser:
    p = make_parser(
        "python -m sims.klom",
        "KLoM of GA / GDA / SCRUB unlearning on ensembles of small networks over a "
        "hyperparameter grid, and the Ascent Forgets Illusion (paper Sec. 3, App. K).",
    )
    p.add_argument(
        "--data",
        choices=("digits", "cifar10"),
        default="digits",
        help="data set: scikit-learn's 8x8 digits (1,438 training and 359 validation "
        "images, bundled) or CIFAR-10 (50,000 + 10,000, from --data-dir)",
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="directory of the CIFAR-10 python batch files, required with --data cifar10 "
        "(default: none)",
    )
    p.add_argument(
        "--max-train",
        type=positive_int,
        default=None,
        help="use only the first MAX_TRAIN training examples (default: all)",
    )
    p.add_argument(
        "--max-eval",
        type=positive_int,
        default=None,
        help="use only the first MAX_EVAL test examples as the validation split (default: all)",
    )
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="architecture")
    p.add_argument("--width", type=positive_int, default=64, help="MLP hidden width (units)")
    p.add_argument(
        "--n-models", type=bounded(int, low=4), default=100, help="ensemble size N (>= 4)"
    )
    p.add_argument("--epochs", type=positive_int, default=15, help="training epochs (>= 1)")
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=64,
        help="minibatch size (examples, at most half the training set)",
    )
    p.add_argument(
        "--lr", type=_rate(MAX_LR), default=0.05, help=f"training step size, in (0, {MAX_LR:g}]"
    )
    p.add_argument(
        "--forget-fractions",
        type=bounded(float, low=0.0, high=0.5, low_inclusive=False),
        nargs="+",
        default=[0.0002, 0.002, 0.01],
        help="random forget-set sizes as fractions of the training set, each in (0, 0.5), "
        "rounded up and floored at --min-forget. On the digits data (1,438 training "
        "images) the defaults give 1 -> 5, 3 -> 5 and 15 examples: forget sets of 5 and 15; "
        "on CIFAR-10 (50,000) they are the paper's 10, 100 and 500",
    )
    p.add_argument(
        "--min-forget",
        type=positive_int,
        default=5,
        help="smallest forget set (examples); sizes that coincide after this floor are "
        "merged, and every size must stay below half the training set",
    )
    p.add_argument(
        "--datamodel-models",
        type=nonnegative_int,
        default=200,
        help="subset models M of the datamodel estimator (0 skips the PCA forget sets)",
    )
    p.add_argument(
        "--datamodel-alpha",
        type=bounded(float, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False),
        default=0.5,
        help="fraction of the training set each datamodel model sees, in (0, 1)",
    )
    p.add_argument(
        "--ridge",
        type=_rate(MAX_RIDGE),
        default=1.0,
        help=f"ridge of the datamodel regression, in (0, {MAX_RIDGE:g}]",
    )
    p.add_argument(
        "--pca-components",
        type=bounded(int, low=1, high=4),
        default=2,
        help="principal components giving top/bottom forget sets, in [1, 4]",
    )
    p.add_argument(
        "--methods", choices=METHODS, nargs="+", default=list(METHODS), help="methods to run"
    )
    p.add_argument(
        "--lrs",
        type=_rate(MAX_UNLEARN_LR),
        nargs="+",
        default=[0.01, 0.03, 0.1, 0.3],
        help=f"unlearning step sizes of the grid, each in (0, {MAX_UNLEARN_LR:g}]",
    )
    p.add_argument(
        "--unlearn-epochs",
        type=positive_int,
        default=5,
        help="epochs of unlearning; every epoch 1..E is a grid point (>= 1)",
    )
    p.add_argument(
        "--mixes",
        type=_rate(MAX_LR),
        nargs="+",
        default=[0.5, 1.0],
        help=f"GDA ascent/descent step ratios of the grid, each in (0, {MAX_LR:g}]",
    )
    p.add_argument(
        "--descent-steps",
        type=positive_int,
        default=8,
        help="retain (descent / SCRUB min) steps per unlearning epoch (>= 1)",
    )
    p.add_argument(
        "--bins",
        type=bounded(int, low=2, high=1000),
        default=20,
        help="histogram bins of the KLoM estimate, in [2, 1000]",
    )
    p.add_argument(
        "--eps",
        type=bounded(float, low=0.0, high=1.0, low_inclusive=False),
        default=1e-5,
        help="KLoM floor on the oracle's bin probabilities where the unlearned ones are "
        "non-zero (the reference estimator), in (0, 1]",
    )
    p.add_argument("--seed", type=seed_int, default=0, help=f"master seed, in [0, {SEED_MAX}]")
    add_output_flags(p)
    add_devices_flag(p)
    return p


def _forget_sizes(fractions: list[float], n: int, floor: int) -> list[int]:
    sizes = sorted({max(floor, math.ceil(f * n)) for f in fractions})
    return [s for s in sizes if s < n // 2]


def _tree_index(tree: Any, i: Any) -> Any:
    import jax

    return jax.tree_util.tree_map(lambda a: a[i], tree)


def _load_data(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Any:
    """The data set (exit 2 naming --data-dir when CIFAR-10 cannot be read)."""
    import ascentjax as aj

    if args.data == "cifar10":
        if not args.data_dir:
            parser.error("argument --data-dir: required with --data cifar10")
        try:
            return aj.load_cifar10(args.data_dir, max_train=args.max_train)
        except Exception as err:  # a missing, unreadable or malformed batch file
            parser.error(f"argument --data-dir: {' '.join(str(err).split())}")
    return aj.load_digits(seed=args.seed)


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace, ds: Any) -> None:
    """Checks that need the data set's size, and the memory estimate (exit 2)."""
    check_representable(parser, args, "float32")
    n = len(ds.x_train[: args.max_train])
    nv = len(ds.x_test[: args.max_eval])
    if args.batch_size > n // 2:
        parser.error(f"argument --batch-size: must be <= half the training set ({n // 2})")
    sizes = _forget_sizes(args.forget_fractions, n, args.min_forget)
    if not sizes:
        parser.error(
            f"argument --min-forget: every forget set ({args.min_forget} or more examples) "
            f"must be smaller than half the training set ({n // 2}); lower --min-forget or "
            "raise --max-train"
        )
    # the ensembles (N pretrained, 2N oracles, E unlearning snapshots of N models, M
    # datamodel models) with SGD state and a minibatch of activations, their margins,
    # and the n x n datamodel matrix with its SVD workspace
    shape = ds.x_train.shape[1:]
    d_in = int(np.prod(shape))
    c = int(ds.num_classes)
    if args.model == "mlp":
        params = d_in * args.width + args.width + args.width * c + c
        act = args.batch_size * (d_in + args.width + c) * 12
    else:
        h, w, ch = shape
        params = 9 * ch * 16 + 16 + 9 * 16 * 32 + 32 + (-(-h // 4)) * (-(-w // 4)) * 32 * c + c
        act = args.batch_size * h * w * 64 * 12
    N, M, E = args.n_models, args.datamodel_models, args.unlearn_epochs
    per_model = 16 * params + act
    ensembles = 3 * N * per_model + E * N * (4 * params + 4 * (n + nv)) + 3 * N * 4 * (n + nv)
    datamodels = M * (per_model + 8 * n)
    matrix = 16 * n * n if M else 0
    terms = {"--n-models": ensembles, "--datamodel-models": datamodels, "--max-train": matrix}
    check_memory(parser, args, sum(terms.values()), terms)


def _finite_models(margins: np.ndarray) -> np.ndarray:
    """Which models of an ensemble have finite margins on every point (did not diverge)."""
    return np.all(np.isfinite(margins), axis=-1)


def _check_trained(
    stage: str, margins: np.ndarray, accuracy: np.ndarray, y: Any, idx: Any = None
) -> None:
    """Stop the study (exit 1) when a reference ensemble diverged or learned nothing.

    Diverged: some model's outputs are non-finite. Learned nothing: the ensemble's mean
    training accuracy (on ``idx``, default every point) is within 2 points of always
    predicting the commonest class, which is where a step size far too large leaves the
    networks (collapsed, finite outputs).
    """
    ok = _finite_models(margins)
    if not ok.all():
        raise ReferenceDiverged(
            f"{stage} diverged in {int((~ok).sum())} of {len(ok)} models (non-finite "
            "outputs); lower --lr"
        )
    labels = np.asarray(y) if idx is None else np.asarray(y)[np.asarray(idx)]
    acc = float(np.mean(accuracy))
    base = float(np.max(np.bincount(labels)) / labels.size)
    if acc <= base + 0.02:
        raise ReferenceDiverged(
            f"{stage} learned nothing: training accuracy {100 * acc:.1f}%, no better than "
            f"always predicting the commonest class ({100 * base:.1f}%); lower --lr"
        )


def run(args: argparse.Namespace, parser: argparse.ArgumentParser, ds: Any) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    x = jnp.asarray(ds.x_train[: args.max_train])
    y = jnp.asarray(ds.y_train[: args.max_train])
    xv = jnp.asarray(ds.x_test[: args.max_eval])
    yv = jnp.asarray(ds.y_test[: args.max_eval])
    n = int(x.shape[0])
    N = args.n_models
    half = N // 2
    net = (
        aj.MLP(hidden=(args.width,), num_classes=ds.num_classes)
        if args.model == "mlp"
        else aj.SmallCNN(num_classes=ds.num_classes)
    )
    train_kw = dict(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr)
    kw_klom = dict(bins=args.bins, eps=args.eps)
    master = jax.random.key(args.seed)
    keys = (jax.random.fold_in(master, i) for i in itertools.count())
    timings: dict[str, float] = {}
    # one bar over every training / unlearning call (each redraws its clock every second)
    n_sizes = len(_forget_sizes(args.forget_fractions, n, args.min_forget))
    n_sets = n_sizes + (2 * args.pca_components if args.datamodel_models > 0 and n_sizes else 0)
    n_grid = sum(len(args.lrs) * (len(args.mixes) if m == "gda" else 1) for m in args.methods)
    bar = progress_bar(
        total=2 + n_sets * (1 + n_grid), desc="klom", unit="step", disable=args.no_progress
    )

    # jitted once per shape: margins / per-model accuracy of an ensemble, and of every
    # epoch of a trajectory
    margin_fn = jax.jit(lambda p, xx, yy: aj.ensemble_margins(net, p, xx, yy))
    traj_margins = jax.jit(jax.vmap(margin_fn, in_axes=(0, None, None)))
    acc_fn = jax.jit(lambda p, xx, yy: aj.ensemble_accuracy(net, p, xx, yy))
    traj_acc = jax.jit(jax.vmap(acc_fn, in_axes=(0, None, None)))

    def margins_all(params: Any) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(margin_fn(params, x, y)), np.asarray(margin_fn(params, xv, yv))

    def model_accuracies(params: Any, F: Any, R: Any, fn: Any = acc_fn) -> dict[str, np.ndarray]:
        # per-model accuracy on each split (NaN for a model with non-finite parameters)
        return dict(
            forget=np.asarray(fn(params, x[F], y[F])),
            retain=np.asarray(fn(params, x[R], y[R])),
            validation=np.asarray(fn(params, xv, yv)),
        )

    def diverged(m_tr: np.ndarray, m_v: np.ndarray, accs: dict[str, np.ndarray]) -> int:
        # models (rows) with a non-finite margin anywhere or a NaN accuracy on any split
        bad = ~np.isfinite(m_tr).all(axis=-1) | ~np.isfinite(m_v).all(axis=-1)
        for a in accs.values():
            bad |= np.isnan(a)
        return int(bad.sum())

    def klom_np(u: Any, o: Any) -> np.ndarray:
        return np.asarray(aj.klom(u, o, **kw_klom))

    def p95(scores: np.ndarray, idx: Any) -> float:
        # the same 95th percentile as aj.klom_percentile, on host arrays
        return float(np.percentile(scores[idx], 95.0))

    # 1. pretrained models ------------------------------------------------------------
    t0 = time.perf_counter()
    bar.set_description(f"training {N} pretrained models")
    pre = aj.train_ensemble(next(keys), net, x, y, n_models=N, **train_kw)
    pre_m = margins_all(pre)
    timings["pretrain"] = time.perf_counter() - t0
    _check_trained("pretraining", pre_m[0], np.asarray(acc_fn(pre, x, y)), y)
    bar.update()
    dm = f" (datamodels: {args.datamodel_models} models)" if args.datamodel_models else ""
    bar.set_description("forget sets" + dm)

    # 2. forget sets ------------------------------------------------------------------
    t0 = time.perf_counter()
    sizes = _forget_sizes(args.forget_fractions, n, args.min_forget)
    forget_sets: dict[str, np.ndarray] = {}
    k_rand = next(keys)
    for s in sizes:
        forget_sets[f"random_{s}"] = np.asarray(
            aj.random_forget_set(jax.random.fold_in(k_rand, s), n, s)
        )
    dm_info: dict[str, Any] = {}
    if args.datamodel_models > 0 and sizes:
        theta = aj.estimate_datamodels(
            next(keys),
            net,
            x,
            y,
            n_models=args.datamodel_models,
            alpha=args.datamodel_alpha,
            ridge=args.ridge,
            **train_kw,
        )
        size = max(sizes)
        sets = np.asarray(aj.pca_forget_sets(theta, size, args.pca_components))
        for c in range(args.pca_components):
            forget_sets[f"pc{c + 1}_top"] = np.sort(sets[c, 0])
            forget_sets[f"pc{c + 1}_bottom"] = np.sort(sets[c, 1])
        diag = np.diag(np.asarray(theta))
        dm_info = dict(
            models=args.datamodel_models,
            alpha=args.datamodel_alpha,
            ridge=args.ridge,
            trainings=args.datamodel_models,
            epochs_each=args.epochs,
            mean_self_influence=float(diag.mean()),
            fraction_positive_self_influence=float((diag > 0).mean()),
        )
    timings["forget_sets"] = time.perf_counter() - t0
    bar.update()

    # 3. oracles and the grid ---------------------------------------------------------
    results: dict[str, Any] = {}
    t_oracle = t_unlearn = 0.0
    for name, F in forget_sets.items():
        bar.set_description(f"{name}: {2 * N} oracle models")
        R = aj.retain_indices(n, F)
        t0 = time.perf_counter()
        orc2 = aj.retrain_oracle(next(keys), net, x, y, R, n_models=2 * N, **train_kw)
        orc = _tree_index(orc2, slice(0, N))
        ref = _tree_index(orc2, slice(N, 2 * N))
        o_tr, o_v = margins_all(orc)
        r_tr, r_v = margins_all(ref)
        t_oracle += time.perf_counter() - t0
        _check_trained(
            f"the oracle (retraining without {name})",
            np.concatenate([o_tr, r_tr]),
            np.asarray(acc_fn(orc2, x[R], y[R])),
            y,
            R,
        )
        bar.update()

        def score(m_tr: Any, m_v: Any, o_tr=o_tr, o_v=o_v, F=F, R=R) -> dict[str, float]:
            k_tr = klom_np(m_tr, o_tr)
            k_v = klom_np(m_v, o_v)
            return dict(
                forget=p95(k_tr, F), retain=p95(k_tr, R), validation=float(aj.klom_percentile(k_v))
            )

        def halves(m_tr: Any, o_tr=o_tr, F=F) -> tuple[float, float]:
            a = klom_np(m_tr[:half], o_tr[:half])
            b = klom_np(m_tr[half : 2 * half], o_tr[half : 2 * half])
            return p95(a, F), p95(b, F)

        def acc(accs: dict[str, np.ndarray]) -> dict[str, float]:
            # the ensemble's mean accuracy; NaN when a model diverged
            return {k: float(np.mean(v)) for k, v in accs.items()}

        def reference_row(params: Any, m_tr: Any, m_v: Any, F=F, R=R) -> dict[str, Any]:
            accs = model_accuracies(params, F, R)
            return dict(
                klom=score(m_tr, m_v), accuracy=acc(accs), diverged=diverged(m_tr, m_v, accs)
            )

        entry: dict[str, Any] = dict(
            size=int(F.size),
            indices=F,
            pretrained=reference_row(pre, *pre_m),
            oracle_reference=reference_row(ref, r_tr, r_v),
            oracle_halves_forget_klom=p95(klom_np(o_tr[:half], o_tr[half : 2 * half]), F),
            methods={},
        )
        t0 = time.perf_counter()
        for method in args.methods:
            mixes = args.mixes if method == "gda" else [1.0]
            rows = []
            for lr, mix in itertools.product(args.lrs, mixes):
                bar.set_description(f"{name}: {LABELS[method]} lr {lr:g}")
                traj = aj.unlearn_ensemble(
                    next(keys),
                    net,
                    pre,
                    x,
                    y,
                    jnp.asarray(F),
                    jnp.asarray(R),
                    method=method,
                    learning_rate=lr,
                    epochs=args.unlearn_epochs,
                    batch_size=args.batch_size,
                    ascent_scale=mix,
                    descent_steps=args.descent_steps,
                )
                m_tr_all = np.asarray(traj_margins(traj, x, y))
                m_v_all = np.asarray(traj_margins(traj, xv, yv))
                acc_all = model_accuracies(traj, F, R, traj_acc)
                for e in range(args.unlearn_epochs):
                    ha, hb = halves(m_tr_all[e])
                    accs = {k: v[e] for k, v in acc_all.items()}
                    rows.append(
                        dict(
                            lr=lr,
                            mix=mix,
                            epochs=e + 1,
                            klom=score(m_tr_all[e], m_v_all[e]),
                            accuracy=acc(accs),
                            diverged=diverged(m_tr_all[e], m_v_all[e], accs),
                            forget_klom_half_a=ha,
                            forget_klom_half_b=hb,
                        )
                    )
                bar.update()
            entry["methods"][method] = dict(
                grid=rows, illusion=_illusion(rows, entry["oracle_halves_forget_klom"])
            )
        t_unlearn += time.perf_counter() - t0
        results[name] = entry
    bar.close()
    timings["oracles"] = t_oracle
    timings["unlearning_grid"] = t_unlearn
    timings["total"] = sum(timings.values())
    return dict(
        study=STUDY,
        config=dict(
            data=args.data,
            n_train=n,
            n_validation=int(xv.shape[0]),
            model=args.model,
            width=args.width,
            n_models=N,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            forget_fractions=list(args.forget_fractions),
            forget_sizes=sizes,
            methods=list(args.methods),
            lrs=list(args.lrs),
            unlearn_epochs=args.unlearn_epochs,
            mixes=list(args.mixes),
            descent_steps=args.descent_steps,
            bins=args.bins,
            eps=args.eps,
            seed=args.seed,
        ),
        datamodels=dm_info,
        forget_sets=results,
        timings_s=timings,  # main moves it to run.json: summary.json holds no timings
    )


def _illusion(rows: list[dict[str, Any]], oracle_level: float) -> dict[str, Any]:
    """The grid point with the lowest forget KLoM on the selection seeds, and its scores.

    Only configurations whose N models all stayed finite (and whose selection score is a
    number) can be selected: a diverged run has no KLoM, so it can never look best.
    """
    ok = [
        i for i, r in enumerate(rows) if r["diverged"] == 0 and np.isfinite(r["forget_klom_half_a"])
    ]
    out: dict[str, Any] = dict(
        selected=None,
        forget_klom_on_selection_seeds=None,
        forget_klom_on_held_out_seeds=None,
        oracle_level_halves=oracle_level,
        retain_klom_at_selected=None,
        validation_klom_at_selected=None,
        grid_points=len(rows),
        diverged_configurations=sum(r["diverged"] > 0 for r in rows),
    )
    if ok:
        best = min(ok, key=lambda i: rows[i]["forget_klom_half_a"])
        r = rows[best]
        out.update(
            selected=dict(lr=r["lr"], mix=r["mix"], epochs=r["epochs"]),
            forget_klom_on_selection_seeds=r["forget_klom_half_a"],
            forget_klom_on_held_out_seeds=r["forget_klom_half_b"],
            retain_klom_at_selected=r["klom"]["retain"],
            validation_klom_at_selected=r["klom"]["validation"],
        )
    return out


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
    out.append(_illusion_table(summary))
    return "".join(out)


def _illusion_table(summary: dict[str, Any]) -> str:
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


@cli
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_devices(args.devices)  # before JAX starts: one CPU device per core
    ds = _load_data(parser, args)
    _validate(parser, args, ds)
    out = open_output(parser, args.out, STUDY, args.overwrite)
    use_headless_matplotlib()
    t0 = time.perf_counter()
    summary = run(args, parser, ds)
    t = summary.pop("timings_s")
    ts = time.perf_counter()
    with stage("drawing klom_grid.png, accuracy_grid.png, illusion.png", disable=args.no_progress):
        save_figure(plot_grid(summary, "klom"), out / "klom_grid.png")
        save_figure(plot_grid(summary, "accuracy"), out / "accuracy_grid.png")
        save_figure(plot_illusion(summary), out / "illusion.png")
    t["figures"] = time.perf_counter() - ts
    write_text(out / "table.md", render_table(summary))
    wall = time.perf_counter() - t0
    final = out.finish(summary, run_info(STUDY, argv, dtype="float32", timings_s=t, wall_s=wall))
    print(_illusion_table(summary))
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))
    print(
        f"wrote summary.json, klom_grid.png, accuracy_grid.png, illusion.png, table.md to {final}"
    )
    return 0


if __name__ == "__main__":
    exit_script(main)
