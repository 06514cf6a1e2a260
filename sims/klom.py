"""KLoM of gradient-ascent unlearning on ensembles of small networks (paper Sec. 3, App. K).

Run ``python -m sims.klom`` (``--help`` for the flags). It trains N "pretrained" models
and, for every forget set, 2N oracle models on the retain set (the second N measure
KLoM's noise floor); builds random forget sets (the paper's 10/100/500 of 50k CIFAR-10
images as fractions of the training set) and datamodel-PCA ones (top and bottom of the
leading components); runs a grid (learning rate x epochs, and the ascent/descent mix for
GDA) of unlearning methods (eight built-ins, :data:`RULES`, and a user's, ``--method``)
and reports KLoM (95th percentile over the forget, retain and validation points),
membership inference (loss threshold and likelihood ratio: AUC, TPR at 1 % and 0.1 %
FPR), accuracy and diverged models (a configuration with one has no score); and
measures the "Ascent Forgets Illusion": the configuration chosen on the forget KLoM of
one half of the seeds, re-scored on the other half (diverged configurations are never
selected). All of it is computed by :mod:`ascentjax.nets`.

Outputs under ``--out``: ``summary.json``, ``results.csv`` (long format, one row per
measurement), ``klom_grid.png``, ``accuracy_grid.png``, ``illusion.png`` and ``table.md``.
``--cache-dir`` keeps the trained ensembles (orbax, content-hashed). ``python -m sims.klom
score ...`` scores margin arrays computed elsewhere (``score --help``).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import sys
import time
import zlib
from typing import Any

import numpy as np

from sims import _common as C
from sims import _klom_report as report
from sims._devices import add_devices_flag, configure_devices
from sims._klom_report import illusion_summary, illusion_table, plot_grid, plot_illusion
from sims._plugins import method_type

STUDY = "klom"
RULES = dict(ga="gradient_ascent", gda="gradient_descent_ascent", scrub="scrub", ft="fine_tune",
             npo="npo", noisy="noisy_descent", salun="salun", l1="l1_sparse")  # fmt: skip
"""The built-in methods: ``--methods`` name -> factory in :mod:`ascentjax.nets`."""
METHODS = tuple(RULES)


# Largest accepted magnitudes: far beyond any useful setting, and small enough that the
# float32 training stays finite for at least one step (a C.stage that then diverges is
# flagged).
MAX_LR = 1e3
# Unlearning rates may be absurd on purpose (a diverged run is reported, never scored);
# above 1e30 the step itself overflows float32 arithmetic.
MAX_UNLEARN_LR = 1e30
MAX_RIDGE = 1e6


def _rate(high: float) -> Any:
    return C.bounded(float, low=0.0, high=high, low_inclusive=False)


def build_parser() -> argparse.ArgumentParser:
    p = C.make_parser(
        "python -m sims.klom",
        "KLoM and membership inference of unlearning methods on small-network ensembles over "
        "a grid, the Ascent Forgets Illusion (Sec. 3, App. K). 'score --help': precomputed margins",
    )
    unit = C.bounded(float, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    options = [  # (flag, type, default, help, extra add_argument keywords)
        ("--data", None, "digits", "data set: scikit-learn's 8x8 digits (1,438 training and "
         "359 validation images, bundled) or CIFAR-10 (50,000 + 10,000, from --data-dir)",
         dict(choices=("digits", "cifar10"))),
        ("--data-dir", None, None, "directory of the CIFAR-10 python batch files, required "
         "with --data cifar10 (default: none)", {}),
        ("--max-train", C.positive_int, None, "use only the first MAX_TRAIN training examples "
         "(default: all)", {}),
        ("--max-eval", C.positive_int, None, "use only the first MAX_EVAL test examples as the "
         "validation split (default: all)", {}),
        ("--model", None, "mlp", "architecture", dict(choices=("mlp", "cnn"))),
        ("--width", C.positive_int, 64, "MLP hidden width (units)", {}),
        ("--n-models", C.bounded(int, low=4), 100, "ensemble size N (>= 4)", {}),
        ("--epochs", C.positive_int, 15, "training epochs (>= 1)", {}),
        ("--batch-size", C.positive_int, 64, "minibatch size (examples, at most half the "
         "training set)", {}),
        ("--lr", _rate(MAX_LR), 0.05, f"training step size, in (0, {MAX_LR:g}]", {}),
        ("--forget-fractions", C.bounded(float, low=0.0, high=0.5, low_inclusive=False),
         [0.0002, 0.002, 0.01], "random forget-set sizes as fractions of the training set, "
         "each in (0, 0.5), rounded up and floored at --min-forget. On the digits data "
         "(1,438 training images) the defaults give 1 -> 5, 3 -> 5 and 15 examples: forget "
         "sets of 5 and 15; on CIFAR-10 (50,000) they are the paper's 10, 100 and 500",
         dict(nargs="+")),
        ("--min-forget", C.positive_int, 5, "smallest forget set (examples); sizes that "
         "coincide after this floor are merged, and every size must stay below half the "
         "training set", {}),
        ("--datamodel-models", C.nonnegative_int, 200, "subset models M of the datamodel "
         "estimator (0 skips the PCA forget sets)", {}),
        ("--datamodel-alpha", unit, 0.5, "fraction of the training set each datamodel "
         "model sees, in (0, 1)", {}),
        ("--ridge", _rate(MAX_RIDGE), 1.0, f"ridge of the datamodel regression, in (0, "
         f"{MAX_RIDGE:g}]", {}),
        ("--pca-components", C.bounded(int, low=1, high=4), 2, "principal components giving "
         "top/bottom forget sets, in [1, 4]", {}),
        ("--methods", None, ["ga", "gda", "scrub"], "built-in methods to run (GA, GDA, SCRUB, "
         "fine-tune, NPO, noisy descent, SalUn, l1-sparse)", dict(choices=METHODS, nargs="+")),
        ("--method", method_type, None, "a user's method MODULE:NAME or FILE.py:NAME, repeatable: "
         "NAME(learning_rate) -> ascentjax.UnlearningRule (default: none)", dict(action="append")),
        ("--cache-dir", None, None, "keep the pretrained, datamodel and oracle ensembles here, "
         "reused when data, forget set, model and training match (default: none)", {}),
        ("--lrs", _rate(MAX_UNLEARN_LR), [0.01, 0.03, 0.1, 0.3], "unlearning step sizes of "
         f"the grid, each in (0, {MAX_UNLEARN_LR:g}]", dict(nargs="+")),
        ("--unlearn-epochs", C.positive_int, 5, "epochs of unlearning; every epoch 1..E is a "
         "grid point (>= 1)", {}),
        ("--mixes", _rate(MAX_LR), [0.5, 1.0], "GDA ascent/descent step ratios of the grid, "
         f"each in (0, {MAX_LR:g}]", dict(nargs="+")),
        ("--descent-steps", C.positive_int, 8, "retain (descent / SCRUB min) steps per "
         "unlearning epoch (>= 1)", {}),
        ("--bins", C.bounded(int, low=2, high=1000), 20, "histogram bins of the KLoM "
         "estimate, in [2, 1000]", {}),
        ("--eps", C.bounded(float, low=0.0, high=1.0, low_inclusive=False), 1e-5, "KLoM floor "
         "on the oracle's bin probabilities where the unlearned ones are non-zero (the "
         "reference estimator), in (0, 1]", {}),
        ("--seed", C.seed_int, 0, f"master seed, in [0, {C.SEED_MAX}]", {}),
    ]  # fmt: skip
    for flag, typ, default, text, extra in options:
        if typ is not None:
            extra = dict(extra, type=typ)
        p.add_argument(flag, default=default, help=text, **extra)
    C.add_output_flags(p)
    add_devices_flag(p)
    return p


def _forget_sizes(fractions: list[float], n: int, floor: int) -> list[int]:
    sizes = sorted({max(floor, math.ceil(f * n)) for f in fractions})
    return [s for s in sizes if s < n // 2]


def _load_data(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Any:
    """The data set (exit 2 naming --data-dir when CIFAR-10 cannot be read)."""
    import ascentjax as aj

    if args.data == "cifar10":
        if not args.data_dir:
            parser.error("argument --data-dir: required with --data cifar10")
        try:
            return aj.nets.load_cifar10(args.data_dir, max_train=args.max_train)
        except Exception as err:  # a missing, unreadable or malformed batch file
            parser.error(f"argument --data-dir: {' '.join(str(err).split())}")
    return aj.nets.load_digits(seed=args.seed)


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace, ds: Any) -> None:
    """Checks that need the data set's size, and the memory estimate (exit 2)."""
    C.check_representable(parser, args, "float32")
    n, nv = len(ds.x_train[: args.max_train]), len(ds.x_test[: args.max_eval])
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
    shape, c = ds.x_train.shape[1:], int(ds.num_classes)
    d_in = int(np.prod(shape))
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
    C.check_memory(parser, args, sum(terms.values()), terms)
    args.rules = report.method_rules(parser, args, RULES)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser, ds: Any) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    import ascentjax as aj
    from ascentjax import nets

    x, y = jnp.asarray(ds.x_train[: args.max_train]), jnp.asarray(ds.y_train[: args.max_train])
    xv, yv = jnp.asarray(ds.x_test[: args.max_eval]), jnp.asarray(ds.y_test[: args.max_eval])
    n, N = int(x.shape[0]), args.n_models
    c = ds.num_classes
    net = nets.MLP((args.width,), c) if args.model == "mlp" else nets.SmallCNN(num_classes=c)
    train_kw = dict(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr)
    kw_klom = dict(bins=args.bins, eps=args.eps)

    # keys named by role (an oracle's by its forget set's name): a cached ensemble's key
    # does not depend on which methods run
    def key(*path: int) -> Any:
        return functools.reduce(jax.random.fold_in, path, jax.random.key(args.seed))

    keys = (key(4, i) for i in itertools.count())  # the unlearning runs
    ident = dict(x=x, y=y, xv=xv, yv=yv, model=net, train=train_kw, n_models=N)
    hits: list[bool] = []

    def cache(name: str, extra: dict[str, Any], compute: Any) -> Any:
        value, hit = nets.cached(args.cache_dir, name, dict(ident, **extra), compute)
        hits.append(hit)
        return value

    timings: dict[str, float] = {}
    sizes = _forget_sizes(args.forget_fractions, n, args.min_forget)
    n_sets = len(sizes) + (2 * args.pca_components if args.datamodel_models > 0 and sizes else 0)
    n_grid = sum(len(args.lrs) * (len(args.mixes) if m == "gda" else 1) for m in args.rules)
    bar = C.progress_bar(
        total=2 + n_sets * (1 + n_grid), desc="klom", unit="step", disable=args.no_progress
    )
    # jitted once per shape: margins / per-model accuracy of an ensemble and of every epoch
    margin_fn = jax.jit(lambda p, xx, yy: nets.ensemble_margins(net, p, xx, yy))
    traj_margins = jax.jit(jax.vmap(margin_fn, in_axes=(0, None, None)))
    acc_fn = jax.jit(lambda p, xx, yy: nets.ensemble_accuracy(net, p, xx, yy))
    traj_acc = jax.jit(jax.vmap(acc_fn, in_axes=(0, None, None)))
    mia_fn = jax.jit(functools.partial(nets.unlearning_mia, fprs=report.FPRS))

    def margins_all(params: Any) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(margin_fn(params, x, y)), np.asarray(margin_fn(params, xv, yv))

    def with_margins(params: Any) -> dict[str, Any]:
        tr, v = margins_all(params)
        return dict(params=params, tr=tr, v=v)

    def model_accuracies(params: Any, F: Any, R: Any, fn: Any = acc_fn) -> dict[str, np.ndarray]:
        # per-model accuracy on each split (NaN for a model with non-finite parameters)
        splits = dict(forget=(x[F], y[F]), retain=(x[R], y[R]), validation=(xv, yv))
        return {k: np.asarray(fn(params, *v)) for k, v in splits.items()}

    def diverged(m_tr: np.ndarray, m_v: np.ndarray, accs: dict[str, np.ndarray]) -> int:
        # models (rows) with a non-finite margin anywhere or a NaN accuracy on any split
        bad = ~np.isfinite(m_tr).all(-1) | ~np.isfinite(m_v).all(-1)
        return int((bad | np.isnan(np.stack(list(accs.values()))).any(0)).sum())

    def pct(scores: Any, idx: Any = None) -> float:
        return float(nets.klom_percentile(scores if idx is None else scores[idx]))

    # 1. pretrained models ------------------------------------------------------------
    t0 = time.perf_counter()
    bar.set_description(f"training {N} pretrained models")
    c = cache("pretrained", dict(key=key(0)), lambda: with_margins(
        nets.train_ensemble(key(0), net, x, y, n_models=N, **train_kw)))  # fmt: skip
    pre, pre_m = c["params"], (np.asarray(c["tr"]), np.asarray(c["v"]))
    timings["pretrain"] = time.perf_counter() - t0
    report.check_trained("pretraining", pre_m[0], np.asarray(acc_fn(pre, x, y)), y)
    bar.update()
    dm = f" (datamodels: {args.datamodel_models} models)" if args.datamodel_models else ""
    bar.set_description("forget sets" + dm)

    # 2. forget sets: random ones from the library's sampler, PCA ones from datamodels --
    t0 = time.perf_counter()
    forget_sets = {
        f"random_{s}": np.flatnonzero(aj.sample_forget_mask(jax.random.fold_in(key(1), s), n, s))
        for s in sizes
    }
    dm_info: dict[str, Any] = {}
    if args.datamodel_models > 0 and sizes:
        dm = dict(key=key(2), models=args.datamodel_models, alpha=args.datamodel_alpha,
                  ridge=args.ridge)  # fmt: skip
        theta = cache("datamodels", dm, lambda: dict(theta=nets.estimate_datamodels(
            key(2), net, x, y, n_models=args.datamodel_models, alpha=args.datamodel_alpha,
            lam=args.ridge, train_kwargs=train_kw)))["theta"]  # fmt: skip
        sets = np.asarray(nets.pca_forget_sets(theta, max(sizes), args.pca_components))
        for k, side in itertools.product(range(args.pca_components), (0, 1)):
            forget_sets[f"pc{k + 1}_{('top', 'bottom')[side]}"] = np.sort(sets[k, side])
        diag = np.diag(np.asarray(theta))
        dm_info = dict(
            models=args.datamodel_models, alpha=args.datamodel_alpha, ridge=args.ridge,
            trainings=args.datamodel_models, epochs_each=args.epochs,
            mean_self_influence=float(diag.mean()),
            fraction_positive_self_influence=float((diag > 0).mean()),
        )  # fmt: skip
    timings["forget_sets"] = time.perf_counter() - t0
    bar.update()

    # 3. oracles and the grid ---------------------------------------------------------
    results: dict[str, Any] = {}
    t_oracle = t_unlearn = 0.0
    for name, F in forget_sets.items():
        bar.set_description(f"{name}: {2 * N} oracle models")
        R = nets.retain_indices(n, F)
        t0 = time.perf_counter()
        ko = key(3, zlib.crc32(name.encode()) & 0x7FFFFFFF)
        c = cache("oracle", dict(key=ko, retain=R), lambda R=R, ko=ko: with_margins(
            nets.retrain_oracle(ko, net, x, y, R, n_models=2 * N, **train_kw)))  # fmt: skip
        orc2, (o_tr, r_tr), (o_v, r_v) = c["params"], np.split(c["tr"], 2), np.split(c["v"], 2)
        ref = jax.tree_util.tree_map(lambda a: a[N:], orc2)
        t_oracle += time.perf_counter() - t0
        report.check_trained(
            f"the oracle (retraining without {name})",
            np.concatenate([o_tr, r_tr]), np.asarray(acc_fn(orc2, x[R], y[R])), y, R,
        )  # fmt: skip
        bar.update()

        def score(m_tr: Any, m_v: Any, o_tr=o_tr, o_v=o_v, F=F, R=R) -> dict[str, float]:
            k_tr, k_v = nets.klom(m_tr, o_tr, **kw_klom), nets.klom(m_v, o_v, **kw_klom)
            return dict(forget=pct(k_tr, F), retain=pct(k_tr, R), validation=pct(k_v))

        def row(params, m_tr, m_v, accs=None, F=F, R=R, o_F=o_tr[:, F]) -> dict[str, Any]:
            accs = model_accuracies(params, F, R) if accs is None else accs
            mean_acc = {k: float(np.mean(v)) for k, v in accs.items()}  # NaN if one diverged
            mia = report.mia_dict(mia_fn(m_tr[:, F], m_v, o_F, pre_m[0][:, F]))
            return dict(klom=score(m_tr, m_v), accuracy=mean_acc,
                        diverged=diverged(m_tr, m_v, accs), mia=mia)  # fmt: skip

        half = N // 2
        entry: dict[str, Any] = dict(
            size=int(F.size), indices=F, pretrained=row(pre, *pre_m),
            oracle_reference=row(ref, r_tr, r_v),
            oracle_halves_forget_klom=pct(nets.klom(o_tr[:half], o_tr[half : 2 * half]), F),
            methods={},
        )  # fmt: skip
        t0 = time.perf_counter()
        for method, make in args.rules.items():
            rows = []
            for lr, mix in itertools.product(args.lrs, args.mixes if method == "gda" else [1.0]):
                bar.set_description(f"{name}: {report.method_label(method)} lr {lr:g}")
                ku, unl = next(keys), dict(epochs=args.unlearn_epochs,
                    batch_size=args.batch_size, descent_steps=args.descent_steps)  # fmt: skip

                def unlearn(ku=ku, make=make, lr=lr, mix=mix, F=F, R=R, unl=unl) -> Any:
                    traj = nets.unlearn_ensemble(ku, make(lr, mix), net, pre, x, y,
                                                 jnp.asarray(F), jnp.asarray(R), **unl)  # fmt: skip
                    m_tr, m_v = (np.asarray(traj_margins(traj, *d)) for d in ((x, y), (xv, yv)))
                    return dict(tr=m_tr, v=m_v, acc=model_accuracies(traj, F, R, traj_acc))

                # built-ins cached by name and hyperparameters; a user's method always runs
                c = unlearn() if method not in RULES else cache("unlearned", dict(
                    method=method, version=aj.__version__, pretrained=key(0), key=ku,
                    retain=R, forget=F, lr=lr, mix=mix, **unl), unlearn)  # fmt: skip
                m_tr_all, m_v_all = np.asarray(c["tr"]), np.asarray(c["v"])
                acc_all = {k: np.asarray(v) for k, v in c["acc"].items()}
                for e in range(args.unlearn_epochs):
                    r = row(None, m_tr_all[e], m_v_all[e], {k: v[e] for k, v in acc_all.items()})
                    ha, hb = np.asarray(nets.split_half_klom(m_tr_all[e], o_tr, F, **kw_klom))
                    r.update(forget_klom_half_a=float(ha), forget_klom_half_b=float(hb))
                    rows.append(dict(lr=lr, mix=mix, epochs=e + 1, **r))
                bar.update()
            entry["methods"][method] = dict(
                grid=rows, illusion=illusion_summary(rows, entry["oracle_halves_forget_klom"])
            )
        t_unlearn += time.perf_counter() - t0
        results[name] = entry
    bar.close()
    timings.update(oracles=t_oracle, unlearning_grid=t_unlearn)
    timings["total"] = sum(timings.values())
    config = report.study_config(args, n, int(xv.shape[0]), sizes)
    # main moves the timings to run.json: summary.json holds no timings
    out = dict(study=STUDY, config=config, datamodels=dm_info, forget_sets=results)
    return dict(out, timings_s=timings, cache_hits=hits)


@C.cli
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["score"]:  # python -m sims.klom score ...: margins computed elsewhere
        return report.score_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_devices(args.devices)  # before JAX starts: one CPU device per core
    ds = _load_data(parser, args)
    _validate(parser, args, ds)
    out = C.open_output(parser, args.out, STUDY, args.overwrite)
    C.use_headless_matplotlib()
    t0 = time.perf_counter()
    summary = run(args, parser, ds)
    t, hits = summary.pop("timings_s"), summary.pop("cache_hits")
    ts = time.perf_counter()
    figures = "klom_grid.png, accuracy_grid.png, illusion.png"
    with C.stage(f"drawing {figures}", disable=args.no_progress):
        C.save_figure(plot_grid(summary, "klom"), out / "klom_grid.png")
        C.save_figure(plot_grid(summary, "accuracy"), out / "accuracy_grid.png")
        C.save_figure(plot_illusion(summary), out / "illusion.png")
    t["figures"] = time.perf_counter() - ts
    C.write_text(out / "table.md", report.render_table(summary))
    C.write_text(out / "results.csv", report.results_csv(report.results_rows(summary)))
    wall = time.perf_counter() - t0
    final = out.finish(summary, C.run_info(STUDY, argv, dtype="float32", timings_s=t, wall_s=wall))
    print(illusion_table(summary) + "\n\n" + report.mia_table(summary))
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))
    if args.cache_dir:
        print(f"cache: {sum(hits)} of {len(hits)} entries reused from {args.cache_dir}")
    print(f"wrote summary.json, results.csv, {figures}, table.md to {final}")
    return 0


if __name__ == "__main__":
    C.exit_script(main)
