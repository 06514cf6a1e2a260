"""Figures, tables, results.csv and the ``score`` subcommand of the KLoM study.

``python -m sims.klom`` computes with :mod:`ascentjax.nets`; this module only draws,
formats and writes. ``python -m sims.klom score`` (:func:`score_main`) scores margin
arrays computed elsewhere with the same library functions.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from sims import _common as C
from sims._common import markdown_table

LABELS = {
    "ga": "GA", "gda": "GDA", "scrub": "SCRUB", "ft": "FT", "npo": "NPO", "noisy": "Noisy GD",
    "salun": "SalUn", "l1": "l1-sparse",
}  # fmt: skip
FPRS = (0.01, 0.001)
"""False-positive rates at which the membership-inference TPRs are reported."""


def method_label(method: str) -> str:
    return LABELS.get(method, method)


def mia_dict(res: Any) -> dict[str, float]:
    """A :class:`ascentjax.nets.MIAResult` as flat JSON numbers (NaN for a diverged run)."""
    out = {}
    for name, att in (("loss", res.loss), ("lira", res.lira)):
        out[f"{name}_auc"] = float(att.auc)
        for f, t in zip(FPRS, np.asarray(att.tpr), strict=True):
            out[f"{name}_tpr@{f:g}"] = float(t)
    return out


# ----------------------------------------------------------------------------- checks
def check_trained(
    stage: str, margins: np.ndarray, accuracy: np.ndarray, y: Any, idx: Any = None
) -> None:
    """Exit 1 when a reference ensemble diverged (non-finite outputs) or learned nothing
    (mean training accuracy on ``idx`` within 2 points of the commonest class's share,
    where a step size far too large leaves the networks)."""
    ok = np.isfinite(margins).all(axis=-1)
    if not ok.all():
        raise C.ReferenceDiverged(
            f"{stage} diverged in {int((~ok).sum())} of {len(ok)} models (non-finite "
            "outputs); lower --lr"
        )
    labels = np.asarray(y) if idx is None else np.asarray(y)[np.asarray(idx)]
    acc = float(np.mean(accuracy))
    base = float(np.max(np.bincount(labels)) / labels.size)
    if acc <= base + 0.02:
        raise C.ReferenceDiverged(
            f"{stage} learned nothing: training accuracy {100 * acc:.1f}%, no better than "
            f"always predicting the commonest class ({100 * base:.1f}%); lower --lr"
        )


def method_rules(
    parser: argparse.ArgumentParser, args: argparse.Namespace, builtins: dict[str, str]
) -> dict[str, Any]:
    """Method name -> ``rule(lr, mix)`` of a grid point (the mix is GDA's ascent scale): the
    built-ins of --methods, then each --method factory, called once here to check it."""
    import ascentjax as aj
    from ascentjax import nets

    out = {
        m: functools.partial(_builtin, getattr(nets, builtins[m]), m == "gda") for m in args.methods
    }
    for f in args.method or []:
        name = getattr(f, "__name__", "")
        taken = {*out, *builtins, "pretrained", "oracle", "oracle_halves"}
        if name in taken or not name.isidentifier():
            parser.error(f"argument --method: the name {name!r} is taken or not an identifier")
        try:
            rule = f(args.lrs[0])
        except Exception as err:
            parser.error(f"argument --method: {name}({args.lrs[0]:g}) raised {err!r}")
        if not isinstance(rule, aj.UnlearningRule):
            parser.error(f"argument --method: {name}(learning_rate) must return an UnlearningRule")
        out[name] = lambda lr, mix, f=f: f(lr)
    return out


def _builtin(factory: Any, gda: bool, lr: float, mix: float) -> Any:
    return factory(lr, ascent_scale=mix) if gda else factory(lr)


# ----------------------------------------------------------------------------- results.csv
CONFIG_COLUMNS = dict(
    data="data", model="model", width="width", n_models="n_models", train_epochs="epochs",
    batch_size="batch_size", train_lr="lr", descent_steps="descent_steps", bins="bins",
    eps="eps", seed="seed",
)  # fmt: skip
"""results.csv column -> summary["config"] key."""
COLUMNS = [*CONFIG_COLUMNS, "forget_set", "forget_size", "method", "lr", "mix", "epochs",
           "hyperparameters", "split", "seed_half", "metric", "value"]  # fmt: skip


def _value(v: Any) -> Any:
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else v


def results_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per method x hyperparameters x forget set x split x seed half x metric.

    ``method`` is a method name, ``pretrained`` or ``oracle`` (the independent oracle
    ensemble), or ``oracle_halves`` (oracle against oracle, the floor of the split-half
    forget KLoM); ``seed_half`` is ``all`` (N models), ``a`` / ``b`` (the first / second
    N/2 models against the same oracle half) or ``a_vs_b``; a missing score (a diverged
    configuration) has an empty ``value``.
    """
    cfg = summary["config"]
    base = {col: cfg.get(key) for col, key in CONFIG_COLUMNS.items()}
    out: list[dict[str, Any]] = []

    def emit(ctx: dict[str, Any], rec: dict[str, Any]) -> None:
        def add(split: str, half: str, metric: str, v: Any) -> None:
            out.append(dict(ctx, split=split, seed_half=half, metric=metric, value=_value(v)))

        for split, v in rec["klom"].items():
            add(split, "all", "klom_p95", v)
        for split, v in rec["accuracy"].items():
            add(split, "all", "accuracy", v)
        add("all", "all", "diverged_models", rec["diverged"])
        for half in ("a", "b"):
            if f"forget_klom_half_{half}" in rec:
                add("forget", half, "klom_p95", rec[f"forget_klom_half_{half}"])
        for k, v in rec.get("mia", {}).items():
            add("forget", "all", f"mia_{k}", v)

    for s, e in summary["forget_sets"].items():
        fs = dict(base, forget_set=s, forget_size=e["size"])
        blank = dict(lr="", mix="", epochs="", hyperparameters="")
        for m, key in (("pretrained", "pretrained"), ("oracle", "oracle_reference")):
            emit(dict(fs, method=m, **blank), e[key])
        halves = _value(e["oracle_halves_forget_klom"])
        out.append(dict(fs, method="oracle_halves", **blank, split="forget", seed_half="a_vs_b",
                        metric="klom_p95", value=halves))  # fmt: skip
        for m, d in e["methods"].items():
            for r in d["grid"]:
                mix = r["mix"] if m == "gda" else ""
                hyper = f"lr={r['lr']:g};epochs={r['epochs']}" + (f";mix={mix:g}" if mix else "")
                ctx = dict(fs, method=m, lr=r["lr"], mix=mix, epochs=r["epochs"],
                           hyperparameters=hyper)  # fmt: skip
                emit(ctx, r)
    return out


def results_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


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
            head = method_label(m) + (f", ascent ×{mix:g}" if mix is not None else "")
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
        ax.set_title(f"{method_label(m)}: best grid point by forget KLoM")
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
                        method_label(m),
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
    out.append("\n## Membership inference (forget set; selected configurations)\n\n")
    out.append(mia_table(summary))
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
                    method_label(m),
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


def mia_table(summary: dict[str, Any]) -> str:
    """Membership inference per forget set: the pretrained and oracle ensembles and each
    method at its configuration selected on the forget KLoM (selection seeds)."""
    headers = ["forget set", "method", "LiRA AUC", "LiRA TPR@1%", "LiRA TPR@0.1%",
               "loss AUC", "loss TPR@1%"]  # fmt: skip
    rows = []

    def line(s: str, name: str, mia: dict[str, float] | None) -> None:
        keys = ("lira_auc", "lira_tpr@0.01", "lira_tpr@0.001", "loss_auc", "loss_tpr@0.01")
        rows.append([s, name, *(None if mia is None else mia[k] for k in keys)])

    for s, e in summary["forget_sets"].items():
        line(s, "pretrained", e["pretrained"]["mia"])
        line(s, "oracle (indep.)", e["oracle_reference"]["mia"])
        for m, d in e["methods"].items():
            c = d["illusion"]["selected"]
            hit = [
                r for r in d["grid"] if c and (r["lr"], r["mix"], r["epochs"]) == tuple(c.values())
            ]
            line(s, f"{method_label(m)} (selected)", hit[0]["mia"] if hit else None)
    return markdown_table(headers, rows, floatfmt=".3g")


# ----------------------------------------------------------------------------- score
def _npy(text: str) -> np.ndarray:
    try:
        a = np.load(text, allow_pickle=False)
    except Exception as err:  # missing, unreadable, not .npy, object arrays
        raise argparse.ArgumentTypeError(
            f"cannot read {text}: {' '.join(str(err).split())}"
        ) from None
    if a.ndim != 2 or min(a.shape) < 1 or not np.issubdtype(a.dtype, np.number):
        raise argparse.ArgumentTypeError(
            f"{text}: expected a numeric (models, points) array, got {a.dtype} {a.shape}"
        )
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float32)


def _splits(text: str) -> dict[str, np.ndarray]:
    try:
        raw = json.loads(Path(text).read_text())
    except Exception as err:
        raise argparse.ArgumentTypeError(
            f"cannot read {text}: {' '.join(str(err).split())}"
        ) from None
    ok = isinstance(raw, dict) and raw and all(
        isinstance(v, list) and v and all(isinstance(i, int) and not isinstance(i, bool)
                                          for i in v) for v in raw.values()
    )  # fmt: skip
    if not ok:
        raise argparse.ArgumentTypeError(
            f"{text}: expected a JSON object of split names to non-empty lists of column "
            'indices, e.g. {"forget": [0, 5], "retain": [1, 2, 3], "test": [4]}'
        )
    return {k: np.asarray(v, np.int64) for k, v in raw.items()}


def score_parser() -> argparse.ArgumentParser:
    p = C.make_parser(
        "python -m sims.klom score",
        "KLoM (and, with --pretrained, membership inference) of margin arrays computed "
        "elsewhere: one .npy file per ensemble, shaped (models, points), the same points "
        "(columns) in every file.",
    )
    p.add_argument(
        "--unlearned",
        type=_npy,
        required=True,
        metavar="U.npy",
        help="margins of the unlearned models, (N_U, P)",
    )
    p.add_argument(
        "--oracle",
        type=_npy,
        required=True,
        metavar="O.npy",
        help="margins of the oracle models (retrained without the forget set), (N_O, P)",
    )
    p.add_argument(
        "--pretrained",
        type=_npy,
        default=None,
        metavar="P.npy",
        help="margins of the original models, (N_P, P): adds membership inference "
        "(needs a 'forget' split and a 'test' or 'validation' split, N_O >= 4; default: none)",
    )
    p.add_argument(
        "--splits",
        type=_splits,
        default=None,
        metavar="splits.json",
        help="JSON object: split name -> list of column indices (default: one "
        "split 'all' of every column)",
    )
    p.add_argument(
        "--bins",
        type=C.bounded(int, low=2, high=1000),
        default=20,
        help="histogram bins of the KLoM estimate, in [2, 1000]",
    )
    p.add_argument(
        "--eps",
        type=C.bounded(float, low=0.0, high=1.0, low_inclusive=False),
        default=1e-5,
        help="KLoM floor on the oracle's bin probabilities, in (0, 1]",
    )
    C.add_output_flags(p)  # fmt: skip
    return p


def score_main(argv: list[str]) -> int:
    """``python -m sims.klom score``: KLoM / MIA of precomputed margins (exit 2 on bad files)."""
    from ascentjax import nets

    parser = score_parser()
    args = parser.parse_args(argv)
    u, o, pre = args.unlearned, args.oracle, args.pretrained
    npts = u.shape[1]
    for flag, a in (("--oracle", o), ("--pretrained", pre)):
        if a is not None and a.shape[1] != npts:
            parser.error(f"argument {flag}: {a.shape[1]} points, --unlearned has {npts}")
    splits = args.splits or {"all": np.arange(npts)}
    for name, idx in splits.items():
        if idx.min() < 0 or idx.max() >= npts:
            parser.error(f"argument --splits: split {name!r} indexes outside [0, {npts})")
    test = next((k for k in ("test", "validation") if k in splits), None)
    if pre is not None and ("forget" not in splits or test is None or o.shape[0] < 4):
        parser.error("argument --pretrained: needs --splits with 'forget' and 'test' (or "
                     "'validation') and at least 4 oracle models")  # fmt: skip
    out = C.open_output(parser, args.out, "klom_score", args.overwrite)
    k = np.asarray(nets.klom(u, o, bins=args.bins, eps=args.eps))
    res: dict[str, Any] = {
        n: dict(points=int(i.size), klom_p95=float(nets.klom_percentile(k[i])),
                klom_mean=float(np.mean(k[i]))) for n, i in splits.items()
    }  # fmt: skip
    mia = None
    if pre is not None:
        F, T = splits["forget"], splits[test]
        mia = mia_dict(nets.unlearning_mia(u[:, F], u[:, T], o[:, F], pre[:, F], fprs=FPRS))
    config = dict(models_unlearned=u.shape[0], models_oracle=o.shape[0], points=npts,
                  models_pretrained=None if pre is None else pre.shape[0], bins=args.bins,
                  eps=args.eps)  # fmt: skip
    summary = dict(study="klom_score", config=config, splits=res, mia=mia)
    rows = [dict(split=n, seed_half="all", metric=m, value=_value(r[m]))
            for n, r in res.items() for m in ("klom_p95", "klom_mean")]  # fmt: skip
    rows += [dict(split="forget", seed_half="all", metric=f"mia_{m}", value=_value(v))
             for m, v in (mia or {}).items()]  # fmt: skip
    buf = io.StringIO()
    w = csv.DictWriter(
        buf, fieldnames=["split", "seed_half", "metric", "value"], lineterminator="\n"
    )
    w.writeheader()
    w.writerows(rows)
    C.write_text(out / "results.csv", buf.getvalue())
    np.save(out / "klom.npy", k)
    table = markdown_table(
        ["split", "points", "KLoM 95th pct", "mean KLoM"],
        [[n, r["points"], r["klom_p95"], r["klom_mean"]] for n, r in res.items()],
    )
    if mia is not None:
        table += "\n" + markdown_table(
            ["unlearned models (LiRA: out = oracle, in = pretrained)", *mia],
            [["forget vs test", *mia.values()]],
        )
    C.write_text(out / "table.md", table)
    final = out.finish(
        summary, C.run_info("klom_score", argv, dtype=str(k.dtype), timings_s={}, wall_s=0.0)
    )
    print(table)
    print(f"wrote summary.json, results.csv, klom.npy, table.md to {final}")
    return 0


def study_config(args: Any, n_train: int, n_validation: int, sizes: list[int]) -> dict[str, Any]:
    """The run's configuration as recorded in ``summary.json`` (what the seed determines)."""
    return dict(
        data=args.data, n_train=n_train, n_validation=n_validation, model=args.model,
        width=args.width, n_models=args.n_models, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, forget_fractions=list(args.forget_fractions),
        forget_sizes=sizes, methods=list(args.rules), lrs=list(args.lrs),
        unlearn_epochs=args.unlearn_epochs, mixes=list(args.mixes),
        descent_steps=args.descent_steps, bins=args.bins, eps=args.eps, seed=args.seed,
    )  # fmt: skip
