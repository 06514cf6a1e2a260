r"""The four settings of the stress suite, each a batch of problems with its reference.

A :class:`Setting` holds one :class:`~ascentjax.stress.StressProblem` per grid point and
seed, stacked along a leading axis of length ``G * S`` (grid-point major), the oracle of
each, the grid's coordinates and whatever the setting's scores need:

* :func:`block_setting`: the cross-correlated block over :math:`\rho\times\alpha`; exact
  pretrained and oracle weights from :func:`ascentjax.theory.solve`.
* :func:`one_coordinate_setting`: one correlated coordinate over :math:`\lambda\times
  \alpha` (the three branch cases of :math:`w_{DA}`), closed forms.
* :func:`toy_setting`: the nonconvex toy model; pretrained model and the retain
  objective's two basins from :func:`ascentjax.toy.find_minima`.
* :func:`random_forget_setting`: a uniformly random forget set of a resampled tabular
  data set (Gaussian mixture or the Wisconsin breast-cancer table), pretrained model and
  oracle by :func:`ascentjax.train_oracle`, and a test set for the forget/test gap.

Seeds differ through ``problem.key`` (stochastic methods) and, for random forget sets,
through the resampled data and forget set; the block, one-coordinate and toy problems are
otherwise the same for every seed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .. import theory, toy
from .._data import Dataset, sample_forget_mask
from .._forget import breast_cancer_data, gaussian_mixture_data, resample_split, train_oracle
from .._problems import Block, OneCoordinate
from .._validation import check_choice, check_count
from ._problem import StressProblem, linear_problem, toy_problem

__all__ = [
    "Setting",
    "block_setting",
    "one_coordinate_setting",
    "random_forget_setting",
    "toy_setting",
]


class Setting(NamedTuple):
    r"""A batch of problems of one setting with its references (host-side container).

    Fields:

    * ``name``: the setting's label in the scorecard.
    * ``kind``: ``"exact"`` (block, one coordinate), ``"toy"`` or ``"random"``.
    * ``problems``: a :class:`~ascentjax.stress.StressProblem` whose leaves have a leading
      axis of length ``G * S`` (index ``g * S + s``).
    * ``oracle``: the oracle's parameters, same leading axis.
    * ``grid``: the grid's coordinates, name to array of shape ``(G,)``.
    * ``n_seeds``: ``S``.
    * ``probes``: inputs whose scores define "the sides" of the pretrained model (the
      block's retain and forget points, the coordinate itself), or ``None``.
    * ``extra``: setting-specific references (toy: ``minima`` of the retain objective;
      random: ``test_x``, ``test_y``, ``n_forget``).
    """

    name: str
    kind: str
    problems: StressProblem
    oracle: Any
    grid: dict[str, np.ndarray]
    n_seeds: int
    probes: jax.Array | None
    extra: dict[str, Any]


def _keys(key: jax.Array, seeds: int) -> jax.Array:
    check_count("seeds", seeds, minimum=1)
    return jax.random.split(key, seeds)


def _tile(tree: Any, seeds: int) -> Any:
    return jax.tree_util.tree_map(lambda a: jnp.repeat(a, seeds, axis=0), tree)


def _stack(problems: StressProblem, keys: jax.Array, grid_size: int) -> StressProblem:
    seeds = keys.shape[0]
    tiled = _tile(problems, seeds)
    return StressProblem(
        **{
            **{f: getattr(tiled, f) for f in ("x", "y", "retain_weight", "forget_weight")},
            "lam": tiled.lam,
            "params0": tiled.params0,
            "params_init": tiled.params_init,
            "key": jnp.tile(keys, (grid_size,)),
            "model": problems.model,
            "loss": problems.loss,
        }
    )


def _grid(a: ArrayLike, b: ArrayLike, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError("grids must be non-empty")
    aa, bb = np.meshgrid(a, b, indexing="ij")
    return aa.ravel(), bb.ravel()


# The compiled builders are cached on their static arguments, so settings of the same
# shapes (a suite run twice, the tests and the CLI) compile once.
@functools.cache
def _block_fn(loss: str, lam: float, dt: Any) -> Callable:
    def one(r: jax.Array, a: jax.Array) -> tuple[StressProblem, jax.Array]:
        block = Block(rho=r, alpha=a, lam=lam, loss=loss)
        sol = theory.solve(block)
        data = block.data(dtype=dt)
        prob = linear_problem(data, lam, sol.pretrained.weights.astype(dt), loss=loss)
        return prob, sol.oracle.weights.astype(dt)

    return jax.jit(jax.vmap(one))


@functools.cache
def _coordinate_fn(loss: str, dt: Any) -> Callable:
    def one(la: jax.Array, a: jax.Array) -> tuple[StressProblem, jax.Array, jax.Array]:
        prob = OneCoordinate(alpha=a, lam=la, loss=loss)
        sol = theory.solve(prob)
        w0 = jnp.atleast_1d(sol.pretrained).astype(dt)
        p = linear_problem(prob.data(dtype=dt), la, w0, loss=loss)
        return p, jnp.atleast_1d(sol.oracle).astype(dt), sol.case

    return jax.jit(jax.vmap(one))


@functools.cache
def _random_fn(n_train: int, n_forget: int, n_test: int, lam: float) -> Callable:
    def one(
        k: jax.Array, x: jax.Array, y: jax.Array
    ) -> tuple[StressProblem, jax.Array, jax.Array, jax.Array]:
        ks, km, kp = jax.random.split(k, 3)
        train, test = resample_split(ks, x, y, n_train, n_test)
        mask = sample_forget_mask(km, n_train, n_forget)
        data = Dataset(x=train.x, y=train.y, forget=mask, weight=train.weight)
        w_d = train_oracle(train, lam, loss="logistic")
        w_r = train_oracle(data, lam, loss="logistic")
        return linear_problem(data, lam, w_d, loss="logistic", key=kp), w_r, test.x, test.y

    return jax.jit(jax.vmap(one, in_axes=(0, None, None)))


def block_setting(
    rhos: ArrayLike,
    alphas: ArrayLike,
    *,
    loss: str = "exp",
    lam: float = 0.01,
    seeds: int = 2,
    key: jax.Array | None = None,
    dtype: Any = None,
) -> Setting:
    r"""The cross-correlated block over :math:`\rho \times \alpha` at the paper's counts
    (:math:`|S_i| = 50`, :math:`|R| = 900`, :math:`|F| = 100`).

    Args:
        rhos: correlations in :math:`[0, 1)`.
        alphas: forget ratios :math:`\alpha > 0` (at most 2, so the forget block fits
            in :math:`|F|`).
        loss: ``"exp"`` or ``"logistic"``.
        lam: ridge strength.
        seeds: seeds per grid point (>= 1).
        key: PRNG key of the seeds (default ``jax.random.key(0)``).
        dtype: floating dtype (``None``: JAX's default).

    Returns:
        A :class:`Setting` named ``"block-<loss>"``; grid ``rho``, ``alpha``.

    Example:
        >>> import ascentjax as aj
        >>> s = aj.stress.block_setting([0.8], [0.05], seeds=2)
        >>> s.problems.x.shape, s.oracle.shape
        ((2, 102, 2), (2, 2))
    """
    check_choice("loss", loss, ("exp", "logistic"))
    rho, alpha = _grid(rhos, alphas, dtype)
    Block(rho=rho, alpha=alpha, lam=lam, loss=loss)  # validates the grid
    dt = jnp.dtype(dtype) if dtype is not None else jnp.result_type(float)
    key = jax.random.key(0) if key is None else key

    probs, oracle = _block_fn(loss, float(lam), dt)(jnp.asarray(rho, dt), jnp.asarray(alpha, dt))
    return Setting(
        name=f"block-{loss}",
        kind="exact",
        problems=_stack(probs, _keys(key, seeds), rho.size),
        oracle=_tile(oracle, seeds),
        grid={"rho": rho, "alpha": alpha},
        n_seeds=seeds,
        probes=None,  # per grid point: the retain point (1, rho) and forget point (rho, 1)
        extra={},
    )


def one_coordinate_setting(
    lams: ArrayLike,
    alphas: ArrayLike,
    *,
    loss: str = "exp",
    seeds: int = 2,
    key: jax.Array | None = None,
    dtype: Any = None,
) -> Setting:
    r"""One correlated coordinate over :math:`\lambda \times \alpha` (:math:`|R_j| = 50`,
    :math:`|R| = 900`, :math:`|F| = 100`), with the branch case of :math:`w_{DA}` per point.

    Args:
        lams: ridge strengths :math:`\lambda > 0`.
        alphas: forget ratios :math:`\alpha \ge 0` (at most 2).
        loss: ``"exp"`` or ``"logistic"``.
        seeds: seeds per grid point (>= 1).
        key: PRNG key of the seeds (default ``jax.random.key(0)``).
        dtype: floating dtype (``None``: JAX's default).

    Returns:
        A :class:`Setting` named ``"one-coordinate"``; grid ``lam``, ``alpha``, ``case``.

    Example:
        >>> import ascentjax as aj
        >>> s = aj.stress.one_coordinate_setting([0.01], [0.05, 0.115, 0.3])
        >>> s.grid["case"].tolist()
        [1, 2, 3]
    """
    check_choice("loss", loss, ("exp", "logistic"))
    lam, alpha = _grid(lams, alphas, dtype)
    OneCoordinate(alpha=alpha, lam=lam, loss=loss)  # validates the grid
    dt = jnp.dtype(dtype) if dtype is not None else jnp.result_type(float)
    key = jax.random.key(0) if key is None else key

    probs, oracle, case = _coordinate_fn(loss, dt)(jnp.asarray(lam, dt), jnp.asarray(alpha, dt))
    return Setting(
        name="one-coordinate",
        kind="exact",
        problems=_stack(probs, _keys(key, seeds), lam.size),
        oracle=_tile(oracle, seeds),
        grid={"lam": lam, "alpha": alpha, "case": np.asarray(case, int)},
        n_seeds=seeds,
        probes=jnp.ones((1, 1), dt),
        extra={},
    )


def toy_setting(
    *, forget: int = 2, seeds: int = 2, key: jax.Array | None = None, dtype: Any = None
) -> Setting:
    r"""The nonconvex toy model (paper Sec. 5.2): forget ``forget`` copies of :math:`x = 4`.

    The pretrained model is the global minimum of the pretraining objective and the
    oracle the global minimum of the retain objective; ``extra["minima"]`` holds the
    retain objective's minima sorted by loss (index 0: the oracle's basin, the others
    inferior), ``extra["retain_weights"]`` the toy's retain weights.

    Args:
        forget: copies of :math:`x = 4` forgotten (1 to 4).
        seeds: seeds (>= 1).
        key: PRNG key of the seeds (default ``jax.random.key(0)``).
        dtype: floating dtype (``None``: JAX's default).

    Returns:
        A :class:`Setting` named ``"toy"`` with one grid point.

    Example:
        >>> import ascentjax as aj
        >>> s = aj.stress.toy_setting(seeds=1)
        >>> s.extra["minima"].shape[0] >= 2
        True
    """
    dt = jnp.dtype(dtype) if dtype is not None else jnp.result_type(float)
    key = jax.random.key(0) if key is None else key
    data = toy.data(dt)
    w = toy.weights(data.multiplicities, forget)
    _, _, inits = toy.grid(n_a=8, n_b=8, dtype=dt)
    pre = toy.find_minima(w.pretrained, inits, data, steps=3000)
    ret = toy.find_minima(w.retain, inits, data, steps=3000)
    prob = toy_problem(pre.minima[0], forget=forget, key=jax.random.key(0))
    probs = jax.tree_util.tree_map(lambda a: jnp.asarray(a)[None], prob)
    return Setting(
        name="toy",
        kind="toy",
        problems=_stack(probs, _keys(key, seeds), 1),
        oracle=jnp.repeat(ret.minima[:1], seeds, axis=0),
        grid={"forget": np.array([forget])},
        n_seeds=seeds,
        probes=None,
        extra={"minima": ret.minima, "retain_weights": w.retain, "data": data},
    )


def random_forget_setting(
    pool: str = "gaussian_mixture",
    *,
    n_train: int = 200,
    n_forget: int = 20,
    n_test: int = 200,
    lam: float = 0.01,
    seeds: int = 16,
    key: jax.Array | None = None,
    dtype: Any = None,
) -> Setting:
    r"""A uniformly random forget set of a resampled data set, logistic loss.

    Each seed draws :math:`D` and a test set :math:`T` i.i.d. from the pool
    (:func:`ascentjax.resample_split`), a uniform forget set :math:`F \subset D`
    (:func:`ascentjax.sample_forget_mask`), and trains the pretrained model on :math:`D`
    and the oracle on :math:`R = D \setminus F` (:func:`ascentjax.train_oracle`). The
    pools: ``"gaussian_mixture"`` (4000 draws of a 5-dimensional mixture with class means
    2 apart) and ``"breast_cancer"`` (:func:`ascentjax.breast_cancer_data`).

    Args:
        pool: ``"gaussian_mixture"`` or ``"breast_cancer"``.
        n_train: :math:`|D|` (static int >= 2).
        n_forget: :math:`|F|`, in ``[1, n_train)``.
        n_test: :math:`|T|` (static int >= 1).
        lam: ridge strength :math:`\lambda > 0`.
        seeds: seeds (>= 1).
        key: PRNG key (default ``jax.random.key(0)``).
        dtype: floating dtype (``None``: JAX's default).

    Returns:
        A :class:`Setting` named ``"random-<pool>"`` with one grid point; ``extra`` holds
        ``test_x``, ``test_y`` (leading axis ``S``) and ``n_forget``, ``n_test``.

    Example:
        >>> import ascentjax as aj
        >>> s = aj.stress.random_forget_setting(n_train=40, n_forget=4, n_test=20, seeds=2)
        >>> s.problems.x.shape, s.extra["test_x"].shape
        ((2, 40, 5), (2, 20, 5))
    """
    check_choice("pool", pool, ("gaussian_mixture", "breast_cancer"))
    check_count("n_train", n_train, minimum=2)
    check_count("n_test", n_test, minimum=1)
    check_count("n_forget", n_forget, minimum=1)
    if n_forget >= n_train:
        raise ValueError(f"n_forget must be < n_train = {n_train}, got {n_forget}")
    if not lam > 0:
        raise ValueError(f"lam must be > 0, got {lam}")
    dt = jnp.dtype(dtype) if dtype is not None else jnp.result_type(float)
    key = jax.random.key(0) if key is None else key
    kpool, kseeds = jax.random.split(key)
    if pool == "gaussian_mixture":
        source = gaussian_mixture_data(kpool, 4000, 5, 2.0, dtype=dt)
    else:
        source = breast_cancer_data(dtype=dt)

    fn = _random_fn(n_train, n_forget, n_test, float(lam))
    probs, oracle, tx, ty = fn(_keys(kseeds, seeds), source.x, source.y)
    return Setting(
        name=f"random-{pool}",
        kind="random",
        problems=probs,
        oracle=oracle,
        grid={"n_forget": np.array([n_forget])},
        n_seeds=seeds,
        probes=None,
        extra={"test_x": tx, "test_y": ty, "n_forget": n_forget, "n_test": n_test},
    )
