"""The toy model :math:`h_\\theta(x) = s(a x + b x^2)`, its weighted loss and its accuracy."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike
from jaxtyping import Array, Bool, Float

from .._validation import check_nonnegative
from ._data import Data
from ._data import data as _paper_data

__all__ = ["correct", "get_output_map", "loss", "predict"]

OutputMap = str | Callable[[Array], Array]
OUTPUT_MAPS = ("tanh", "tanh_half", "paper_sigmoid")


def _tanh_half(z: Array) -> Array:
    return jnp.tanh(0.5 * z)


def _paper_sigmoid(z: Array) -> Array:
    return jax.nn.sigmoid(0.5 * (1.0 + z))


def get_output_map(output_map: OutputMap = "tanh") -> Callable[[Array], Array]:
    """Resolve an output map :math:`s` of the toy model :math:`h_\\theta(x) = s(a x + b x^2)`.

    Choices:

    * ``"tanh"`` (default): :math:`s(z) = \\tanh z`, a sigmoid onto :math:`(-1, 1)`;
      reproduces every qualitative claim of the paper (:doc:`/theory/toy_model`).
    * ``"tanh_half"``: :math:`s(z) = 2/(1 + e^{-z}) - 1 = \\tanh(z/2)`, the likely intended
      formula behind the printed one.
    * ``"paper_sigmoid"``: :math:`s(z) = 1/(1 + e^{-(1+z)/2})` exactly as printed; it maps
      into :math:`(0, 1)` and cannot fit the labels :math:`-1` (kept for comparison).
    * any callable ``s(z)`` built from JAX operations (elementwise, differentiable).

    Args:
        output_map: a name above or a callable.

    Returns:
        The elementwise function :math:`s`.

    Raises:
        ValueError: for an unknown name. TypeError: for anything else.

    Example:
        >>> import ascentjax as aj
        >>> round(float(aj.toy.get_output_map("tanh_half")(2.0)), 6)  # = tanh(1)
        0.761594
    """
    if callable(output_map):
        return output_map
    if not isinstance(output_map, str):
        raise TypeError(f"output_map must be a name or a callable, got {type(output_map).__name__}")
    if output_map == "tanh":
        return jnp.tanh
    if output_map == "tanh_half":
        return _tanh_half
    if output_map == "paper_sigmoid":
        return _paper_sigmoid
    raise ValueError(f"output_map must be one of {OUTPUT_MAPS} or a callable, got {output_map!r}")


def check_theta(theta: ArrayLike) -> None:
    if np.shape(theta)[-1:] != (2,):
        raise ValueError(f"theta must have a trailing axis of size 2 (a, b), got {np.shape(theta)}")


def resolve_data(data: Data | None, dtype: DTypeLike) -> Data:
    """``data`` cast to ``dtype``, or the paper's data when ``None``."""
    if data is None:
        return _paper_data(dtype)
    return Data(*(jnp.asarray(v, dtype) for v in data))


def float_dtype(*xs: ArrayLike) -> jnp.dtype:
    dt = jnp.result_type(*xs)
    return dt if jnp.issubdtype(dt, jnp.floating) else jnp.zeros(()).dtype


def loss_one(theta: Array, w: Array, data: Data, lam: ArrayLike, s: Callable) -> Array:
    """:math:`L_w(\\theta)` of one parameter vector ``(2,)`` (the differentiated kernel)."""
    z = theta[0] * data.inputs + theta[1] * data.inputs**2
    return jnp.sum(w * (s(z) - data.labels) ** 2) + lam * jnp.dot(theta, theta)


def predict(
    theta: Float[ArrayLike, "*batch 2"],
    inputs: Float[ArrayLike, " n"],
    output_map: OutputMap = "tanh",
) -> Float[Array, "*batch n"]:
    """Model output :math:`h_\\theta(x) = s(a x + b x^2)`.

    Args:
        theta: parameters :math:`(a, b)`, shape ``(..., 2)``.
        inputs: inputs :math:`x`, shape ``(n,)``.
        output_map: see :func:`get_output_map`.

    Returns:
        Outputs of shape ``(..., n)``.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> aj.toy.predict(jnp.array([1.0, 0.0]), jnp.array([0.0])).tolist()
        [0.0]
    """
    check_theta(theta)
    s = get_output_map(output_map)
    dt = float_dtype(theta, inputs)
    theta = jnp.asarray(theta, dt)
    x = jnp.asarray(inputs, dt)
    z = theta[..., 0:1] * x + theta[..., 1:2] * x * x
    return s(z)


def loss(
    theta: Float[ArrayLike, "*batch 2"],
    weights: Float[ArrayLike, "*batch n"],
    data: Data | None = None,
    *,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
) -> Float[Array, "*batch"]:
    """Weighted squared loss of the toy model.

    .. math::

        L_w(\\theta) = \\sum_i w_i (h_\\theta(x_i) - y_i)^2 + \\lambda \\lVert\\theta\\rVert^2 .

    The sum is unnormalised (weights are copy counts); weights may be negative (ascent).

    Args:
        theta: parameters, shape ``(..., 2)``.
        weights: per-point weights, shape ``(..., n)`` (broadcast against ``theta``).
        data: the data (default :func:`data` in ``theta``'s dtype).
        lam: ridge strength :math:`\\lambda \\ge 0`.
        output_map: see :func:`get_output_map`.

    Returns:
        The loss, shape ``(...)``.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> w = aj.toy.weights().pretrained
        >>> round(float(aj.toy.loss(jnp.array([1.3459, -0.2487]), w)), 3)
        4.221
    """
    check_theta(theta)
    check_nonnegative("lam", lam)
    dt = float_dtype(theta, weights)
    theta = jnp.asarray(theta, dt)
    data = resolve_data(data, dt)
    h = predict(theta, data.inputs, output_map)
    w = jnp.asarray(weights, dt)
    return jnp.sum(w * (h - data.labels) ** 2, axis=-1) + lam * jnp.sum(theta * theta, axis=-1)


def correct(
    theta: Float[ArrayLike, "*batch 2"], data: Data | None = None, output_map: OutputMap = "tanh"
) -> Bool[Array, "*batch n"]:
    """Which points the model classifies right: :math:`\\operatorname{sign} h_\\theta(x_i) = y_i`.

    Args:
        theta: parameters, shape ``(..., 2)``.
        data: the data (default :func:`data`).
        output_map: see :func:`get_output_map`.

    Returns:
        Boolean array of shape ``(..., n)``. Weighted counts are
        ``(correct * weights).sum(-1)``.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> aj.toy.correct(jnp.array([1.35, -0.25])).tolist()
        [True, True, False, True]
    """
    dt = float_dtype(theta)
    data = resolve_data(data, dt)
    h = predict(theta, data.inputs, output_map)
    return jnp.sign(h) == jnp.sign(data.labels)
