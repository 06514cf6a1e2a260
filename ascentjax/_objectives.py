r"""The paper's objectives (Eq. 1) for a linear model on a weighted :class:`Dataset`.

With margins :math:`m_i = y_i\, w^\top x_i`, sample weights :math:`v_i` and a margin
loss :math:`\ell` (``"exp"`` by default, or ``"logistic"``):

.. math::

    L_D(w) &= \frac{1}{|D|}\sum_{i\in D} v_i\,\ell(m_i) + \frac{\lambda}{2}\|w\|^2, \\
    L_R(w) &= \frac{1}{|R|}\sum_{i\in R} v_i\,\ell(m_i) + \frac{\lambda}{2}\|w\|^2, \\
    L_{DA}(w) &= \frac{1}{|R|}\sum_{i\in R} v_i\,\ell(m_i)
        - \frac{1}{|F|}\sum_{i\in F} v_i\,\ell(m_i) + \frac{\lambda}{2}\|w\|^2,

where the normalisers are weight sums, :math:`|R| = \sum_R v_i` etc. A normaliser
of zero (an empty set) makes its mean 0 rather than NaN. Gradients are taken
with ``jax.grad``; every function is pure and works under ``jit``/``vmap``/``grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from ._data import Dataset
from ._losses import get_loss

__all__ = [
    "da_objective",
    "forget_loss",
    "margins",
    "pretrain_objective",
    "retain_loss",
    "retain_objective",
]

LossLike = str | Callable[[jax.Array], jax.Array]


def margins(w: ArrayLike, data: Dataset) -> jax.Array:
    r"""Margins :math:`m_i = y_i\, w^\top x_i` of a linear model, shape ``(n,)``.

    Args:
        w: weights, shape ``(d,)``.
        data: the :class:`ascentjax.Dataset`.

    Returns:
        The margins, shape ``(n,)``.

    Raises:
        ValueError: if ``w`` does not have shape ``(d,)`` with ``d`` the features of
            ``data.x`` (checked at trace time; the objectives below inherit it).

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 2, 1.0, n_retain=4, n_forget=2)
        >>> aj.margins(jnp.array([0.5]), data).tolist()
        [0.5, 0.5, 0.5, 0.5, 0.0, 0.0]
    """
    w = jnp.asarray(w)
    check_params_shape(w, jnp.shape(data.x)[-1])
    return data.y * (data.x @ w)


def check_params_shape(w: jax.Array, d: int) -> None:
    """Package-internal: ``w`` must have shape ``(d,)`` (``d`` features of the data)."""
    if w.ndim != 1 or w.shape[0] != d:
        raise ValueError(
            f"w must have shape ({d},) to match data.x with {d} features, got {w.shape}"
        )


def _normalised(weight: jax.Array) -> jax.Array:
    """``weight / sum(weight)``, or zeros when the sum is 0 (an empty set)."""
    total = jnp.sum(weight)
    return jnp.where(total > 0, weight / jnp.where(total > 0, total, 1), 0)


class SetWeights(NamedTuple):
    """Package-internal: the normalised sample weights of a :class:`Dataset`.

    :math:`v_i/|R|` on R (``retain``), :math:`v_i/|F|` on F (``forget``) and
    :math:`v_i/|D|` (``every``); zeros for an empty set, so its mean is 0, not NaN.
    """

    retain: jax.Array
    forget: jax.Array
    every: jax.Array


def set_weights(data: Dataset) -> SetWeights:
    """Package-internal: the :class:`SetWeights` of ``data``."""
    return SetWeights(
        retain=_normalised(jnp.where(data.forget, 0, data.weight)),
        forget=_normalised(jnp.where(data.forget, data.weight, 0)),
        every=_normalised(data.weight),
    )


def ridge(w: jax.Array, lam: ArrayLike) -> jax.Array:
    """Package-internal: the ridge term :math:`\\tfrac{\\lambda}{2}\\|w\\|^2`."""
    return 0.5 * lam * jnp.sum(jnp.square(w))


def _losses(w: ArrayLike, data: Dataset, loss: LossLike) -> jax.Array:
    return get_loss(loss)(margins(w, data))


def retain_loss(w: ArrayLike, data: Dataset, loss: LossLike = "exp") -> jax.Array:
    r"""Mean retain loss :math:`\frac{1}{|R|}\sum_{i\in R} v_i\,\ell(m_i)` (no ridge).

    Args:
        w: weights, shape ``(d,)``.
        data: the :class:`ascentjax.Dataset`.
        loss: ``"exp"``, ``"logistic"`` or a callable margin loss.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 2, 1.0, n_retain=4, n_forget=2)
        >>> float(aj.retain_loss(jnp.zeros(1), data))
        1.0
    """
    return jnp.sum(set_weights(data).retain * _losses(w, data, loss))


def forget_loss(w: ArrayLike, data: Dataset, loss: LossLike = "exp") -> jax.Array:
    r"""Mean forget loss :math:`\frac{1}{|F|}\sum_{i\in F} v_i\,\ell(m_i)` (no ridge).

    Args:
        w: weights, shape ``(d,)``.
        data: the :class:`ascentjax.Dataset`.
        loss: ``"exp"``, ``"logistic"`` or a callable margin loss.

    Returns:
        A scalar (0 when the forget set is empty).

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 2, 1.0, n_retain=4, n_forget=2)
        >>> round(float(aj.forget_loss(jnp.ones(1), data)), 6)  # e^{-1}
        0.367879
    """
    return jnp.sum(set_weights(data).forget * _losses(w, data, loss))


def pretrain_objective(
    w: ArrayLike, data: Dataset, lam: ArrayLike, loss: LossLike = "exp"
) -> jax.Array:
    r"""Pretraining objective :math:`L_D(w)` (paper Eq. 1).

    .. math:: L_D(w) = \frac{1}{|D|}\sum_{i\in D} v_i\,\ell(m_i) + \frac{\lambda}{2}\|w\|^2.

    Args:
        w: weights, shape ``(d,)``.
        data: the :class:`ascentjax.Dataset` (retain and forget samples together).
        lam: ridge strength :math:`\lambda \ge 0` (may be traced).
        loss: ``"exp"``, ``"logistic"`` or a callable margin loss.

    Returns:
        A scalar.

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 0.5, n_retain=100, n_forget=10)
        >>> g = jax.grad(aj.pretrain_objective)(jnp.zeros(1), data, 0.01)
        >>> round(float(g[0]), 6)  # -(1 + alpha)|R_j| / |D|
        -0.068182
    """
    w = jnp.asarray(w)
    return jnp.sum(set_weights(data).every * _losses(w, data, loss)) + ridge(w, lam)


def retain_objective(
    w: ArrayLike, data: Dataset, lam: ArrayLike, loss: LossLike = "exp"
) -> jax.Array:
    r"""Oracle (retrain) objective :math:`L_R(w)` (paper Eq. 1).

    .. math:: L_R(w) = \frac{1}{|R|}\sum_{i\in R} v_i\,\ell(m_i) + \frac{\lambda}{2}\|w\|^2.

    Args:
        w: weights, shape ``(d,)``.
        data: the :class:`ascentjax.Dataset`; forget samples are ignored.
        lam: ridge strength :math:`\lambda \ge 0` (may be traced).
        loss: ``"exp"``, ``"logistic"`` or a callable margin loss.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 0.5, n_retain=100, n_forget=10)
        >>> float(aj.retain_objective(jnp.zeros(1), data, 0.01))
        1.0
    """
    w = jnp.asarray(w)
    return retain_loss(w, data, loss) + ridge(w, lam)


def da_objective(w: ArrayLike, data: Dataset, lam: ArrayLike, loss: LossLike = "exp") -> jax.Array:
    r"""Descent-ascent objective :math:`L_{DA}(w)` (paper Eq. 1).

    .. math:: L_{DA}(w) = \frac{1}{|R|}\sum_{i\in R} v_i\,\ell(m_i)
        - \frac{1}{|F|}\sum_{i\in F} v_i\,\ell(m_i) + \frac{\lambda}{2}\|w\|^2.

    With the exponential loss :math:`L_{DA}` is unbounded below (its stationary
    points are local); with the logistic loss and :math:`\lambda > 0` it is
    bounded below (:doc:`/theory/conventions`).

    Args:
        w: weights, shape ``(d,)``.
        data: the :class:`ascentjax.Dataset`.
        lam: ridge strength :math:`\lambda \ge 0` (may be traced).
        loss: ``"exp"``, ``"logistic"`` or a callable margin loss.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 0.5, n_retain=100, n_forget=10)
        >>> float(aj.da_objective(jnp.zeros(1), data, 0.01))  # 1 - 1 + 0
        0.0
    """
    w = jnp.asarray(w)
    # one weighted sum with coefficients v_i/|R| on R and -v_i/|F| on F: a single
    # pass over the data in the forward and backward computations
    weights = set_weights(data)
    return jnp.sum((weights.retain - weights.forget) * _losses(w, data, loss)) + ridge(w, lam)
