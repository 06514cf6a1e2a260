"""Local minima of a toy objective, their basins of attraction, and basin assignment."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike
from jaxtyping import Array, Float, Int

from .._validation import check_positive
from ._data import Data
from ._model import OutputMap, correct, float_dtype, get_output_map, loss_one, resolve_data
from ._training import descend, polish

__all__ = ["Basins", "assign", "find_minima", "nearest_minimum"]


class Basins(NamedTuple):
    """Local minima of a toy objective and their basins of attraction.

    Fields:

    * ``minima``: the distinct local minima, shape ``(K, 2)``, sorted by loss (index 0 is
      the lowest minimum found).
    * ``losses``: :math:`L_w` at each minimum, shape ``(K,)``.
    * ``hessian_eigenvalues``: ascending eigenvalues of :math:`\\nabla^2 L_w` at each
      minimum, shape ``(K, 2)`` (all positive: each is a strict local minimum).
    * ``correct``: which points each minimum classifies right, shape ``(K, n)``.
    * ``labels``: for every initialisation, the index of the minimum it converged to, or
      ``-1`` (did not converge to a strict minimum), shape ``(S,)``.
    * ``endpoints``: the polished endpoint of every initialisation, shape ``(S, 2)``.
    """

    minima: Array
    losses: Array
    hessian_eigenvalues: Array
    correct: Array
    labels: Array
    endpoints: Array


def _analyse_impl(pts, weights, data, lam, output_map):
    s = get_output_map(output_map)

    def one(t: Array) -> tuple[Array, Array, Array]:
        g = jax.grad(loss_one)(t, weights, data, lam, s)
        h = jax.hessian(loss_one)(t, weights, data, lam, s)
        return loss_one(t, weights, data, lam, s), jnp.linalg.norm(g), jnp.linalg.eigvalsh(h)

    return jax.vmap(one)(pts)


_analyse_jit = jax.jit(_analyse_impl, static_argnums=(3, 4))


def default_tolerances(dtype: DTypeLike) -> tuple[float, float]:
    """(gradient tolerance, clustering distance) of :func:`find_minima` in ``dtype``."""
    # float32 gradients carry rounding errors of order eps * sum|w| |phi|^2 ~ 1e-7 * 1e3,
    # so they get looser tolerances.
    return (1e-6, 1e-4) if jnp.dtype(dtype) == jnp.float64 else (5e-2, 1e-2)


def find_minima(
    weights: Float[ArrayLike, " n"],
    inits: Float[ArrayLike, "S 2"],
    data: Data | None = None,
    *,
    steps: int = 10_000,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    polish_iterations: int = 50,
    gtol: float | None = None,
    tol: float | None = None,
    endpoints: Float[ArrayLike, "S 2"] | None = None,
) -> Basins:
    """Find every local minimum reached from a set of initialisations, and its basin.

    A deterministic procedure:

    1. gradient descent (:func:`descend`, step :func:`stable_learning_rate`) from every
       initialisation, all at once (skipped when ``endpoints`` are given);
    2. :func:`polish` of every endpoint (safeguarded Newton);
    3. an endpoint *converged* if its gradient norm is below ``gtol``;
    4. greedy clustering: converged endpoints in order of increasing (loss, a, b); the
       first unassigned one opens a cluster that takes every unassigned endpoint within
       distance ``tol``; a cluster is a *strict local minimum* if both Hessian eigenvalues
       at its centre are positive (clusters that are not, e.g. saddles, are dropped);
    5. minima sorted by loss; each initialisation is labelled with its minimum's index,
       or ``-1`` if it did not converge to one.

    Steps 4–5 run on the host (the number of minima is data-dependent), so this function
    is not jit-able; steps 1–2 are jit-compiled and vmapped.

    Args:
        weights: per-point weights, shape ``(n,)``.
        inits: initialisations, shape ``(S, 2)`` (e.g. from :func:`grid`).
        data: the data (default :func:`data`).
        steps: gradient-descent steps.
        lam: ridge strength.
        output_map: see :func:`get_output_map`.
        polish_iterations: iterations of :func:`polish`.
        gtol: gradient-norm tolerance (default ``1e-6`` in float64, ``5e-2`` in float32).
        tol: clustering distance (default ``1e-4`` in float64, ``1e-2`` in float32).
        endpoints: precomputed :func:`descend` endpoints from ``inits`` (optional).

    Returns:
        A :class:`Basins`.

    Example:
        >>> import numpy as np, ascentjax as aj
        >>> _, _, inits = aj.toy.grid(n_a=8, n_b=8)
        >>> basins = aj.toy.find_minima(aj.toy.weights().pretrained, inits, steps=4000)
        >>> np.asarray(basins.minima, float).round(2).tolist()
        [[1.35, -0.25], [1.81, -0.74]]
    """
    inits = jnp.asarray(inits)
    if inits.ndim != 2 or inits.shape[-1] != 2:
        raise ValueError(f"inits must have shape (S, 2), got {inits.shape}")
    weights = jnp.asarray(weights)
    if weights.ndim != 1:
        raise ValueError(f"weights must have shape (n,), got {weights.shape}")
    dt = float_dtype(inits, weights)
    g_default, t_default = default_tolerances(dt)
    gtol = g_default if gtol is None else gtol
    tol = t_default if tol is None else tol
    check_positive("gtol", gtol)
    check_positive("tol", tol)
    data = resolve_data(data, dt)
    kw = dict(lam=lam, output_map=output_map)
    if endpoints is None:
        endpoints = descend(inits, weights, data, steps=steps, **kw)
    pts = polish(endpoints, weights, data, iterations=polish_iterations, **kw)

    losses, gnorm, _ = _analyse_jit(pts, weights, data, float(lam), output_map)
    gnorm = np.asarray(gnorm)
    p = np.asarray(pts, dtype=np.float64)
    f = np.asarray(losses, dtype=np.float64)
    converged = np.isfinite(gnorm) & (gnorm < gtol)

    order = np.lexsort((p[:, 1], p[:, 0], f))
    order = order[converged[order]]
    cluster = np.full(p.shape[0], -1)
    centres: list[int] = []
    for i in order:
        if cluster[i] >= 0:
            continue
        near = np.linalg.norm(p - p[i], axis=-1) <= tol
        take = near & converged & (cluster < 0)
        cluster[take] = len(centres)
        centres.append(int(i))

    idx = np.asarray(centres, dtype=int)
    if idx.size:
        eig = np.asarray(_analyse_jit(pts[idx], weights, data, float(lam), output_map)[2])
    else:
        eig = np.zeros((0, 2))
    is_min = eig[:, 0] > 0 if idx.size else np.zeros(0, bool)
    keep = np.flatnonzero(is_min)
    keep = keep[np.lexsort((p[idx[keep], 1], p[idx[keep], 0], f[idx[keep]]))]
    relabel = np.full(len(centres) + 1, -1)
    relabel[keep] = np.arange(keep.size)
    labels = relabel[cluster]  # cluster == -1 maps to relabel[-1] == -1
    centre_pts = pts[idx[keep]] if keep.size else jnp.zeros((0, 2), dt)
    right = (
        correct(centre_pts, data, output_map)
        if keep.size
        else jnp.zeros((0, data.inputs.shape[0]), bool)
    )
    return Basins(
        minima=centre_pts,
        losses=jnp.asarray(f[idx[keep]], dt) if keep.size else jnp.zeros((0,), dt),
        hessian_eigenvalues=jnp.asarray(eig[keep], dt),
        correct=right,
        labels=jnp.asarray(labels),
        endpoints=pts,
    )


def nearest_minimum(
    points: Float[ArrayLike, "*batch 2"], minima: Float[ArrayLike, "K 2"], tol: ArrayLike
) -> Int[Array, "*batch"]:
    """Index of the minimum within distance ``tol`` of each point, or ``-1`` if none is.

    Args:
        points: parameters, shape ``(..., 2)``.
        minima: the minima, shape ``(K, 2)`` (e.g. :attr:`Basins.minima`; ``K`` may be 0).
        tol: largest accepted distance (> 0).

    Returns:
        Integer labels of shape ``(...)``.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> m = jnp.array([[0.0, 0.0], [1.0, 1.0]])
        >>> aj.toy.nearest_minimum(jnp.array([[0.9, 1.0], [5.0, 5.0]]), m, 0.2).tolist()
        [1, -1]
    """
    check_positive("tol", tol)
    points, minima = jnp.asarray(points), jnp.asarray(minima)
    if minima.ndim != 2 or minima.shape[-1] != 2:
        raise ValueError(f"minima must have shape (K, 2), got {minima.shape}")
    if minima.shape[0] == 0:
        return jnp.full(points.shape[:-1], -1)
    d = jnp.linalg.norm(points[..., None, :] - minima, axis=-1)
    return jnp.where(jnp.min(d, axis=-1) <= tol, jnp.argmin(d, axis=-1), -1)


def assign(
    endpoints: Float[ArrayLike, "*batch 2"],
    weights: Float[ArrayLike, " n"],
    minima: Float[ArrayLike, "K 2"],
    data: Data | None = None,
    *,
    tol: float | None = None,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    polish_iterations: int = 50,
) -> tuple[Float[Array, "*batch 2"], Int[Array, "*batch"]]:
    """Assign endpoints of some pipeline to the basins of ``minima`` of :math:`L_w`.

    Each endpoint is first :func:`polish`-ed on :math:`L_w` (so an endpoint short of its
    minimum converges to it), then labelled by :func:`nearest_minimum`.

    Args:
        endpoints: parameters, shape ``(..., 2)``.
        weights: per-point weights of the objective whose minima these are, shape ``(n,)``.
        minima: the minima, shape ``(K, 2)`` (e.g. :attr:`Basins.minima`).
        data: the data (default :func:`data`).
        tol: assignment distance (default: :func:`find_minima`'s clustering distance
            for the dtype).
        lam: ridge strength.
        output_map: see :func:`get_output_map`.
        polish_iterations: iterations of :func:`polish`.

    Returns:
        ``(polished, labels)``: the polished endpoints and the index of each one's minimum,
        or ``-1``.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> w = aj.toy.weights().pretrained
        >>> _, lab = aj.toy.assign(jnp.array([1.3, -0.25]), w, jnp.array([[1.346, -0.249]]))
        >>> int(lab)
        0
    """
    dt = float_dtype(endpoints, weights)
    tol = default_tolerances(dt)[1] if tol is None else tol
    pts = polish(
        endpoints, weights, data, iterations=polish_iterations, lam=lam, output_map=output_map
    )
    return pts, nearest_minimum(pts, jnp.asarray(minima, dt), tol)
