r"""The stress suite: run methods through the settings, select step sizes, score.

For every method and setting, :func:`evaluate` runs the method from the pretrained model
on every grid point, seed and learning rate at once (one compiled program, its grid points
chunked and sharded over every device by :func:`ascentjax.make_sweep`), and scores
each run:

* :math:`R = \|\theta_U - \theta_R\| / \|\theta_D - \theta_R\|` against the setting's
  oracle :math:`\theta_R` (:math:`R = 1`: as far as doing nothing; :math:`R > 1`: worse);
* *wrong side*: the method moved every probe score (the block's retain and forget
  margins, the coordinate) away from the pretrained model in the direction opposite to
  the oracle;
* *diverged*: a step left the bound of :func:`ascentjax.run_rule`; a diverged run is
  counted, never scored;
* toy: the retain objective's basin the method ends in (*trap*: not the oracle's), and the
  basin after fine-tuning on the retain objective;
* random forget sets: the forget/test accuracy gap :math:`\mathrm{Acc}_F - \mathrm{Acc}_T`.

Learning rates are multiples of each problem's step unit :math:`1/L`, with :math:`L` the
largest eigenvalue of :math:`\nabla^2 L_R` at the pretrained model, so one grid of
multipliers fits the linear settings and the toy alike. :func:`scorecard` chooses each
method's multiplier per setting on the *selection* seeds (fewest divergences, then the
smallest median :math:`R`) and reports the *scoring* seeds only.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .. import theory, toy
from .._sweep import make_sweep
from .._trajectory import run_rule
from .._validation import check_count
from ._problem import StressProblem
from ._settings import (
    Setting,
    block_setting,
    one_coordinate_setting,
    random_forget_setting,
    toy_setting,
)

__all__ = [
    "SUITES",
    "Suite",
    "SuiteResult",
    "evaluate",
    "run_suite",
    "scorecard",
    "scorecard_rows",
    "step_unit",
]


class Suite(NamedTuple):
    """A suite's grids and budgets (see :data:`SUITES`)."""

    rhos: tuple[float, ...]
    alphas: tuple[float, ...]
    lams: tuple[float, ...]
    coordinate_alphas: tuple[float, ...]
    pools: tuple[str, ...]
    random_sizes: tuple[int, int, int]
    seeds: int
    random_seeds: int
    steps: int
    learning_rates: tuple[float, ...]


class _Suites(dict):
    """The built-in suites by name: ``quick`` (about a minute of CPU time on two cores),
    ``default`` (finer grids, both random-forget pools) and ``full``."""


SUITES: dict[str, Suite] = _Suites(
    {
        "quick": Suite(
            rhos=(0.5, 0.8),
            alphas=(0.02, 0.05, 0.1),
            lams=(0.01, 0.1),
            coordinate_alphas=(0.05, 0.115, 0.3),
            pools=("gaussian_mixture",),
            random_sizes=(200, 20, 200),
            seeds=2,
            random_seeds=32,
            steps=500,
            learning_rates=(0.25, 1.0),
        ),
        "default": Suite(
            rhos=(0.3, 0.5, 0.8, 0.9),
            alphas=tuple(np.round(np.linspace(0.01, 0.12, 12), 4).tolist()),
            lams=(0.001, 0.01, 0.1),
            coordinate_alphas=(0.02, 0.05, 0.1, 0.115, 0.15, 0.3),
            pools=("gaussian_mixture", "breast_cancer"),
            random_sizes=(200, 20, 200),
            seeds=4,
            random_seeds=200,
            steps=2000,
            learning_rates=(0.25, 0.5, 1.0),
        ),
        "full": Suite(
            rhos=tuple(np.round(np.arange(0.1, 0.91, 0.1), 2).tolist()),
            alphas=tuple(np.round(np.linspace(0.005, 0.12, 24), 4).tolist()),
            lams=(0.001, 0.01, 0.1, 1.0),
            coordinate_alphas=(0.02, 0.05, 0.08, 0.1, 0.111, 0.115, 0.13, 0.15, 0.2, 0.3),
            pools=("gaussian_mixture", "breast_cancer"),
            random_sizes=(200, 20, 200),
            seeds=8,
            random_seeds=1000,
            steps=5000,
            learning_rates=(0.1, 0.25, 0.5, 1.0, 1.5),
        ),
    }
)


def step_unit(problem: StressProblem) -> jax.Array:
    r"""The step unit :math:`1/L`, :math:`L = \lambda_{\max}\big(\nabla^2 L_R(\theta_0)\big)`.

    Args:
        problem: one :class:`~ascentjax.stress.StressProblem` (``vmap`` for a batch).

    Returns:
        A positive scalar.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> p = aj.stress.linear_problem(aj.OneCoordinate(0.5, 0.01).data(), 0.01, jnp.ones(1))
        >>> bool(aj.stress.step_unit(p) > 10)
        True
    """
    flat, unravel = ravel_pytree(problem.params0)
    h = jax.hessian(lambda v: problem.retain_objective(unravel(v)))(flat)
    top = jnp.max(jnp.linalg.eigvalsh(h))
    return 1.0 / jnp.maximum(top, jnp.finfo(flat.dtype).tiny)


@functools.lru_cache(maxsize=256)
def _runner(method: Callable[..., Any], steps: int, hyper: tuple) -> Callable:
    # cached on (method, steps, hyper): the same method on same-shaped settings compiles once
    hyper = dict(hyper)

    def one(problem: StressProblem, mult: jax.Array) -> tuple[Any, jax.Array]:
        rule = method(problem, mult * step_unit(problem), **hyper)
        traj = run_rule(rule, problem.params0, problem, steps=steps, stride=steps)
        return traj.final, traj.diverged

    def over_rates(problem: StressProblem, mults: jax.Array) -> tuple[Any, jax.Array]:
        return jax.vmap(one, in_axes=(None, 0))(problem, mults)

    # the problems are the sweep's rows: chunked and sharded over every device by
    # make_sweep; results come back as (problem, rate, ...), returned as (rate, problem, ...)
    swept = make_sweep(over_rates, in_axes=(0, None))

    def run(problems: StressProblem, mults: jax.Array) -> tuple[Any, jax.Array]:
        final, diverged = swept(problems, mults)
        return jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), (final, diverged))

    return run


def _flat(tree: Any, lead: int) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.concatenate([jnp.reshape(x, x.shape[:lead] + (-1,)) for x in leaves], axis=-1)


def evaluate(
    method: Callable[..., Any],
    setting: Setting,
    learning_rates: Sequence[float],
    *,
    steps: int,
    hyper: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    r"""Run ``method`` on every problem of ``setting`` at every learning-rate multiplier.

    Args:
        method: ``method(problem, learning_rate, **hyper) -> UnlearningRule``.
        setting: a :class:`~ascentjax.stress.Setting`.
        learning_rates: multipliers of :func:`step_unit` (each > 0).
        steps: steps of every run (static int >= 1).
        hyper: extra keyword arguments of ``method``.

    Returns:
        Arrays of shape ``(L, G, S)`` (learning rate, grid point, seed): ``R``,
        ``diverged`` and, where the setting has them, ``wrong_side``, ``trap``,
        ``trap_after_finetune``, ``gap``; plus ``oracle_gap`` of shape ``(G, S)``.

    Raises:
        ValueError: if a learning rate is not positive or ``steps`` is not a count.

    Example:
        >>> import ascentjax as aj
        >>> s = aj.stress.one_coordinate_setting([0.1], [0.05], seeds=1)
        >>> r = aj.stress.evaluate(aj.stress.finetune, s, [1.0], steps=300)
        >>> r["R"].shape, bool(r["R"][0, 0, 0] < 1e-3)
        ((1, 1, 1), True)
    """
    check_count("steps", steps)
    lrs = np.asarray(learning_rates, float)
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(lrs > 0):
        raise ValueError(f"learning_rates must be positive numbers, got {learning_rates!r}")
    if not callable(method):
        raise TypeError(f"method must be a callable, got {type(method).__name__}")
    probs = setting.problems
    dt = jnp.result_type(*[x.dtype for x in jax.tree_util.tree_leaves(probs.params0)])
    final, diverged = _runner(method, steps, tuple(sorted((hyper or {}).items())))(
        probs, jnp.asarray(lrs, dt)
    )
    L, S = lrs.size, setting.n_seeds
    G = jax.tree_util.tree_leaves(probs.params0)[0].shape[0] // S
    u = _flat(final, 2)
    d0 = _flat(probs.params0, 1)
    r0 = _flat(setting.oracle, 1)
    R = np.asarray(jnp.linalg.norm(u - r0, axis=-1) / jnp.linalg.norm(d0 - r0, axis=-1))
    div = np.asarray(diverged)
    out: dict[str, np.ndarray] = {"R": np.where(div, np.nan, R), "diverged": div}
    if setting.kind == "exact":
        out["wrong_side"] = np.asarray(_wrong_side(setting, final)) & ~div
    elif setting.kind == "toy":
        out.update(_toy_scores(setting, final, steps, div))
    else:
        gap, oracle_gap = _gaps(setting, final)
        out["gap"] = np.where(div, np.nan, gap)
        out["oracle_gap"] = np.asarray(oracle_gap).reshape(G, S)
    return {k: (v.reshape(L, G, S) if k != "oracle_gap" else v) for k, v in out.items()}


def _probes(setting: Setting) -> jax.Array:
    if "rho" in setting.grid:  # the block: retain point (1, rho), forget point (rho, 1)
        rho = jnp.repeat(jnp.asarray(setting.grid["rho"]), setting.n_seeds)
        one = jnp.ones_like(rho)
        return jnp.stack([jnp.stack([one, rho], -1), jnp.stack([rho, one], -1)], 1)
    n = jax.tree_util.tree_leaves(setting.problems.params0)[0].shape[0]
    return jnp.broadcast_to(setting.probes, (n, *setting.probes.shape))


def _wrong_side(setting: Setting, final: Any) -> jax.Array:
    probs, model = setting.problems, setting.problems.model
    probes = _probes(setting)
    s_d = jax.vmap(model)(probs.params0, probes)
    s_r = jax.vmap(model)(setting.oracle, probes)
    s_u = jax.vmap(jax.vmap(model), in_axes=(0, None))(final, probes)
    away = jnp.sign(s_u - s_d) * jnp.sign(s_r - s_d) < 0
    return jnp.all(away, axis=-1)


def _toy_scores(setting: Setting, final: Any, steps: int, div: np.ndarray) -> dict:
    ex = setting.extra
    kw = dict(lam=0.1)
    _, label = toy.assign(final, ex["retain_weights"], ex["minima"], ex["data"], **kw)
    tuned = toy.descend(final, ex["retain_weights"], ex["data"], steps=steps, **kw)
    _, label_ft = toy.assign(tuned, ex["retain_weights"], ex["minima"], ex["data"], **kw)
    return {
        "trap": (np.asarray(label) != 0) & ~div,
        "trap_after_finetune": (np.asarray(label_ft) != 0) & ~div,
    }


def _gap(problem: StressProblem, params: Any, tx: jax.Array, ty: jax.Array) -> jax.Array:
    dt = problem.y.dtype
    mask = (problem.forget_weight > 0).astype(dt)
    acc_f = jnp.sum(mask * problem.correct(params).astype(dt)) / jnp.sum(mask)
    acc_t = jnp.mean((ty * problem.model(params, tx) > 0).astype(dt))
    return acc_f - acc_t


def _gaps(setting: Setting, final: Any) -> tuple[jax.Array, jax.Array]:
    tx, ty = setting.extra["test_x"], setting.extra["test_y"]
    one = jax.vmap(_gap)
    gap = jax.vmap(one, in_axes=(None, 0, None, None))(setting.problems, final, tx, ty)
    return gap, one(setting.problems, setting.oracle, tx, ty)


class SuiteResult(NamedTuple):
    """Everything :func:`run_suite` measured (host-side).

    Fields:

    * ``scorecard``: method name to setting name to the scored entry (:func:`scorecard`).
    * ``records``: one dict per method x learning rate x grid point x seed (long format).
    * ``heatmaps``: method name to setting name (the blocks) to the median :math:`R` over
      the scoring seeds at the selected learning rate, shape ``(len(rhos), len(alphas))``
      (``NaN`` where every scoring seed diverged), with the axes in ``grids``.
    * ``grids``: setting name to its grid coordinates.
    * ``config``: the suite's resolved parameters.
    """

    scorecard: dict[str, dict[str, dict[str, Any]]]
    records: list[dict[str, Any]]
    heatmaps: dict[str, dict[str, np.ndarray]]
    grids: dict[str, dict[str, list]]
    config: dict[str, Any]


def _split(n_seeds: int) -> int:
    return max(1, n_seeds // 2)


def _median(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else None


def scorecard(results: Mapping[str, np.ndarray], setting: Setting, learning_rates: Sequence[float]):
    r"""Select a learning rate on the selection seeds and score the others.

    The first :math:`\max(1, \lfloor S/2 \rfloor)` seeds select the multiplier (fewest
    diverged runs, then the smallest median :math:`R`); the remaining seeds are scored.

    Args:
        results: the output of :func:`evaluate` on ``setting``.
        setting: the :class:`~ascentjax.stress.Setting`.
        learning_rates: the multipliers ``results`` was computed with.

    Returns:
        ``(entry, index)``: the scored entry (``learning_rate``, ``median_R``,
        ``share_R_gt_1``, ``diverged``, and where they apply ``wrong_side``, ``trap``,
        ``trap_after_finetune``, ``gap``, ``oracle_gap``, ``lemma1_reject``; ``None``
        where nothing was scored) and the selected learning-rate index.

    Raises:
        ValueError: with fewer than two seeds (nothing would be left to score).

    Example:
        >>> import ascentjax as aj
        >>> s = aj.stress.one_coordinate_setting([0.1], [0.05], seeds=2)
        >>> r = aj.stress.evaluate(aj.stress.finetune, s, [0.5, 1.0], steps=300)
        >>> entry, i = aj.stress.scorecard(r, s, [0.5, 1.0])
        >>> entry["learning_rate"], entry["diverged"]
        (1.0, 0.0)
    """
    S = setting.n_seeds
    if S < 2:
        raise ValueError(f"scoring needs seeds >= 2 (half select, half score), got {S}")
    k = _split(S)
    R, div = results["R"], results["diverged"]

    def key(i: int) -> tuple[float, float]:
        med = _median(R[i, :, :k].ravel())
        return float(div[i, :, :k].mean()), math.inf if med is None else med

    best = min(range(R.shape[0]), key=key)
    r, d = R[best, :, k:].ravel(), div[best, :, k:]
    ok = r[np.isfinite(r)]
    entry: dict[str, Any] = {
        "learning_rate": float(learning_rates[best]),
        "median_R": _median(r),
        "share_R_gt_1": float(np.mean(ok > 1)) if ok.size else None,
        "diverged": float(d.mean()),
    }
    if "wrong_side" in results:
        entry["wrong_side"] = float(results["wrong_side"][best, :, k:].mean())
    if "trap" in results:
        live = ~d
        for name in ("trap", "trap_after_finetune"):
            entry[name] = float(results[name][best, :, k:][live].mean()) if live.any() else None
    if "gap" in results:
        gap = results["gap"][best, :, k:].ravel()
        gap = gap[np.isfinite(gap)]
        ogap = results["oracle_gap"][:, k:].ravel()
        n_f, n_t = setting.extra["n_forget"], setting.extra["n_test"]
        entry["gap"] = float(gap.mean()) if gap.size else None
        entry["oracle_gap"] = float(ogap.mean())
        if gap.size:
            eps = theory.dkw_band(gap.size, level=0.01)
            entry["lemma1_reject"] = theory.lemma1_verdict(gap, n_f, n_t, eps).violation
        else:
            entry["lemma1_reject"] = None
    return entry, best


def _settings(cfg: Suite, seeds: int, random_seeds: int, key: jax.Array) -> list[Setting]:
    keys = jax.random.split(key, 4 + len(cfg.pools))
    out = [
        block_setting(cfg.rhos, cfg.alphas, loss=loss, seeds=seeds, key=keys[i])
        for i, loss in enumerate(("exp", "logistic"))
    ]
    out.append(one_coordinate_setting(cfg.lams, cfg.coordinate_alphas, seeds=seeds, key=keys[2]))
    out.append(toy_setting(seeds=seeds, key=keys[3]))
    for j, pool in enumerate(cfg.pools):
        n_train, n_forget, n_test = cfg.random_sizes
        out.append(
            random_forget_setting(
                pool,
                n_train=n_train,
                n_forget=n_forget,
                n_test=n_test,
                seeds=random_seeds,
                key=keys[4 + j],
            )
        )
    return out


def run_suite(
    methods: Mapping[str, Callable[..., Any]],
    suite: str | Suite = "quick",
    *,
    learning_rates: Sequence[float] | None = None,
    steps: int | None = None,
    seeds: int | None = None,
    key: jax.Array | None = None,
    progress: Callable[[str], None] | None = None,
) -> SuiteResult:
    r"""Run every method through every setting of a suite and score it.

    Args:
        methods: name to method (``method(problem, learning_rate, **hyper)``); e.g.
            ``{**aj.stress.BASELINES, "mine": my_method}``.
        suite: ``"quick"``, ``"default"``, ``"full"`` (:data:`SUITES`) or a :class:`Suite`.
        learning_rates: multipliers of :func:`step_unit` (default: the suite's).
        steps: steps per run (default: the suite's).
        seeds: seeds of every setting, >= 2 (default: the suite's, and its larger count
            for random forget sets).
        key: PRNG key (default ``jax.random.key(0)``).
        progress: called with a short description before each method x setting.

    Returns:
        A :class:`SuiteResult`.

    Raises:
        ValueError: unknown suite, ``seeds < 2``, bad learning rates or steps.
        TypeError: a method is not callable.

    Example:
        A one-point suite (seconds); fine-tuning reaches the block's exact oracle:

        >>> import ascentjax as aj
        >>> tiny = aj.stress.Suite(
        ...     rhos=(0.8,), alphas=(0.05,), lams=(0.1,), coordinate_alphas=(0.05,),
        ...     pools=("gaussian_mixture",), random_sizes=(50, 5, 50), seeds=2,
        ...     random_seeds=4, steps=200, learning_rates=(1.0,))
        >>> res = aj.stress.run_suite({"finetune": aj.stress.finetune}, tiny)
        >>> sorted(res.scorecard["finetune"])
        ['block-exp', 'block-logistic', 'one-coordinate', 'random-gaussian_mixture', 'toy']
        >>> bool(res.scorecard["finetune"]["block-exp"]["median_R"] < 1e-3)
        True
    """
    if isinstance(suite, str):
        if suite not in SUITES:
            raise ValueError(f"suite must be one of {tuple(SUITES)}, got {suite!r}")
        cfg = SUITES[suite]
    elif isinstance(suite, Suite):
        cfg = suite
    else:
        raise TypeError(f"suite must be a name or a Suite, got {type(suite).__name__}")
    for name, m in methods.items():
        if not callable(m):
            raise TypeError(f"method {name!r} must be a callable, got {type(m).__name__}")
    lrs = tuple(cfg.learning_rates if learning_rates is None else learning_rates)
    steps = cfg.steps if steps is None else steps
    check_count("steps", steps)
    if seeds is not None:
        check_count("seeds", seeds, minimum=2)
    n_seeds = cfg.seeds if seeds is None else seeds
    n_random = cfg.random_seeds if seeds is None else seeds
    key = jax.random.key(0) if key is None else key
    settings = _settings(cfg, n_seeds, n_random, key)
    card: dict[str, dict[str, dict[str, Any]]] = {}
    records: list[dict[str, Any]] = []
    heat: dict[str, dict[str, np.ndarray]] = {}
    for name, method in methods.items():
        card[name], heat[name] = {}, {}
        for setting in settings:
            if progress is not None:
                progress(f"{name} on {setting.name}")
            res = evaluate(method, setting, lrs, steps=steps)
            entry, best = scorecard(res, setting, lrs)
            card[name][setting.name] = entry
            records += _records(name, setting, lrs, res)
            if "rho" in setting.grid:
                k = _split(setting.n_seeds)
                med = _nanmedian(res["R"][best, :, k:])
                shape = (len(set(setting.grid["rho"])), len(set(setting.grid["alpha"])))
                heat[name][setting.name] = med.reshape(shape)
    grids = {s.name: {k: np.asarray(v).tolist() for k, v in s.grid.items()} for s in settings}
    config = {**cfg._asdict(), "learning_rates": list(lrs), "steps": steps}
    config.update(seeds=n_seeds, random_seeds=n_random)
    return SuiteResult(card, records, heat, grids, config)


def _nanmedian(x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    for i, row in enumerate(x):
        row = row[np.isfinite(row)]
        if row.size:
            out[i] = np.median(row)
    return out


def _records(name: str, setting: Setting, lrs: Sequence[float], res: Mapping) -> list[dict]:
    L, G, S = res["R"].shape
    k = _split(S)
    cols = [
        c for c in ("R", "diverged", "wrong_side", "trap", "trap_after_finetune", "gap") if c in res
    ]
    rows = []
    for i in range(L):
        for g in range(G):
            coords = {c: float(v[g]) for c, v in setting.grid.items()}
            for s in range(S):
                row = {"method": name, "setting": setting.name, "learning_rate": float(lrs[i])}
                row.update(coords)
                row.update(seed=s, split="select" if s < k else "score")
                for c in cols:
                    v = res[c][i, g, s]
                    row[c] = (
                        (None if not np.isfinite(v) else float(v)) if c in ("R", "gap") else bool(v)
                    )
                rows.append(row)
    return rows


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def _cell(entry: Mapping[str, Any]) -> str:
    r = entry.get("median_R")
    head = "diverged" if r is None else f"{r:.3g}"
    parts = [f">1 {_pct(entry.get('share_R_gt_1'))}", f"div {_pct(entry['diverged'])}"]
    if "wrong_side" in entry:
        parts.append(f"wrong {_pct(entry['wrong_side'])}")
    if "trap" in entry:
        parts.append(f"trap {_pct(entry['trap'])} → {_pct(entry['trap_after_finetune'])} after FT")
    if "gap" in entry:
        gap = entry["gap"]
        parts.append(
            "gap —" if gap is None else f"gap {gap:+.3f} (oracle {entry['oracle_gap']:+.3f})"
        )
        rej = entry["lemma1_reject"]
        parts.append("L1 —" if rej is None else f"L1 {'REJECT' if rej else 'ok'}")
    return f"{head} ({', '.join(parts)})"


def scorecard_rows(
    card: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> tuple[list[str], list[list[str]]]:
    r"""The scorecard as table cells: one row per method, one column per setting.

    Each cell reads ``median R (>1 share, diverged share[, wrong-side share][, trap before
    → after fine-tuning][, gap (oracle gap), Lemma-1 verdict])`` at the selected learning
    rate, over the scoring seeds; "diverged" in place of :math:`R` when every scored run
    diverged.

    Args:
        card: :attr:`SuiteResult.scorecard`.

    Returns:
        ``(headers, rows)`` of strings.

    Example:
        >>> entry = {"median_R": 1.0, "share_R_gt_1": 0.0, "diverged": 0.0}
        >>> aj_headers, rows = scorecard_rows({"identity": {"toy": entry}})
        >>> rows[0]
        ['identity', '1 (>1 0%, div 0%)']
    """
    settings = list(dict.fromkeys(s for m in card.values() for s in m))
    rows = [[name, *(_cell(m[s]) if s in m else "—" for s in settings)] for name, m in card.items()]
    return ["method", *settings], rows
