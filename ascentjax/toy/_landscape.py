"""Parameter grids and the loss landscape :math:`L_w(a, b)` on them."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike
from jaxtyping import Array, Float

from .._validation import check_count
from ._data import Data
from ._model import OutputMap, float_dtype, loss

__all__ = ["grid", "landscape"]


def grid(
    a_range: tuple[float, float] = (-0.5, 3.0),
    b_range: tuple[float, float] = (-1.25, 0.25),
    n_a: int = 64,
    n_b: int = 64,
    dtype: DTypeLike | None = None,
) -> tuple[Float[Array, " n_a"], Float[Array, " n_b"], Float[Array, "n_b*n_a 2"]]:
    """A rectangular grid of parameters :math:`(a, b)`.

    Args:
        a_range: ``(low, high)`` of :math:`a`.
        b_range: ``(low, high)`` of :math:`b`.
        n_a: points along :math:`a` (at least 2).
        n_b: points along :math:`b` (at least 2).
        dtype: floating dtype (``None``: JAX's default).

    Returns:
        ``(a, b, points)``: the axes, shapes ``(n_a,)`` and ``(n_b,)``, and the grid points,
        shape ``(n_b * n_a, 2)``, row-major in :math:`b` (``points.reshape(n_b, n_a, 2)``
        is an image with :math:`b` down the rows).

    Example:
        >>> import ascentjax as aj
        >>> a, b, pts = aj.toy.grid(n_a=3, n_b=2)
        >>> pts.tolist()
        [[-0.5, -1.25], [1.25, -1.25], [3.0, -1.25], [-0.5, 0.25], [1.25, 0.25], [3.0, 0.25]]
    """
    check_count("n_a", n_a, minimum=2)
    check_count("n_b", n_b, minimum=2)
    for name, rng in (("a_range", a_range), ("b_range", b_range)):
        if len(rng) != 2 or not (np.isfinite(rng).all() and rng[0] < rng[1]):
            raise ValueError(f"{name} must be a finite (low, high) with low < high, got {rng}")
    dt = jnp.dtype(dtype) if dtype is not None else jnp.zeros(()).dtype
    a = jnp.linspace(a_range[0], a_range[1], int(n_a), dtype=dt)
    b = jnp.linspace(b_range[0], b_range[1], int(n_b), dtype=dt)
    aa, bb = jnp.meshgrid(a, b)
    return a, b, jnp.stack([aa.ravel(), bb.ravel()], axis=-1)


def landscape(
    weights: Float[ArrayLike, " n"],
    a: Float[ArrayLike, " n_a"],
    b: Float[ArrayLike, " n_b"],
    data: Data | None = None,
    *,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
) -> Float[Array, "n_b n_a"]:
    """The loss :math:`L_w(a, b)` on a grid (one vmapped evaluation).

    Args:
        weights: per-point weights, shape ``(n,)``.
        a: grid axis of :math:`a`, shape ``(n_a,)``.
        b: grid axis of :math:`b`, shape ``(n_b,)``.
        data: the data (default :func:`data`).
        lam: ridge strength.
        output_map: see :func:`get_output_map`.

    Returns:
        Array of shape ``(n_b, n_a)``: entry ``[j, i]`` is :math:`L_w(a_i, b_j)`.

    Example:
        >>> import numpy as np, jax.numpy as jnp, ascentjax as aj
        >>> a, b = jnp.linspace(0, 2, 5), jnp.linspace(-1, 0, 3)
        >>> z = aj.toy.landscape(aj.toy.weights().gda, a, b)
        >>> np.asarray(z, float).round(2)[-1].tolist()  # b = 0; a = 0, 0.5, ..., 2
        [10.0, 6.26, 4.59, 4.3, 4.41]
    """
    dt = float_dtype(a, b, weights)
    a = jnp.asarray(a, dt)
    b = jnp.asarray(b, dt)

    def row(bj: Array) -> Array:
        th = jnp.stack([a, jnp.broadcast_to(bj, a.shape)], axis=-1)
        return loss(th, weights, data, lam=lam, output_map=output_map)

    return jax.vmap(row)(b)
