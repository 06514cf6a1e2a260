"""The toy data set and the per-point weights of its three objectives."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from .._validation import check_nonnegative, check_real

__all__ = ["Data", "Weights", "data", "weights"]

Array = jax.Array

PAPER_INPUTS = (-1.0, 1.0, 3.0, 4.0)
PAPER_LABELS = (-1.0, 1.0, -1.0, 1.0)
PAPER_MULTIPLICITIES = (5.0, 4.0, 1.0, 4.0)


class Data(NamedTuple):
    """The toy data set: inputs, labels and multiplicities, each of shape ``(n,)``.

    Fields:

    * ``inputs``: scalar inputs :math:`x_i` (embedded as :math:`(x_i, x_i^2)`).
    * ``labels``: labels :math:`y_i \\in \\{-1, +1\\}`.
    * ``multiplicities``: how many copies of each point the full training set holds.
    """

    inputs: Array
    labels: Array
    multiplicities: Array


class Weights(NamedTuple):
    """Per-point weights of the three objectives of the toy (each of shape ``(n,)``).

    Fields:

    * ``pretrained``: :math:`m`, the full training set.
    * ``retain``: :math:`m - f`, the retain set (the oracle retrains on it).
    * ``gda``: :math:`m - f - r f = m - (1 + r) f`, the objective whose gradient flow GDA
      with ascent/descent step-size ratio :math:`r` follows.
    """

    pretrained: Array
    retain: Array
    gda: Array


def data(
    dtype: DTypeLike | None = None,
    *,
    inputs: ArrayLike = PAPER_INPUTS,
    labels: ArrayLike = PAPER_LABELS,
    multiplicities: ArrayLike = PAPER_MULTIPLICITIES,
) -> Data:
    """The toy data of the paper's Sec. 5.2 (or a user-given variant).

    Defaults: :math:`x = (-1, 1, 3, 4)`, :math:`y = (-1, +1, -1, +1)`,
    :math:`m = (5, 4, 1, 4)` (14 weighted points).

    Args:
        dtype: floating dtype of the arrays (``None``: JAX's default float).
        inputs: the scalar inputs.
        labels: the labels, same shape.
        multiplicities: nonnegative copy counts, same shape.

    Returns:
        A :class:`Data`.

    Raises:
        ValueError: on mismatched shapes or negative multiplicities.

    Example:
        >>> import ascentjax as aj
        >>> aj.toy.data().multiplicities.tolist()
        [5.0, 4.0, 1.0, 4.0]
    """
    inputs, labels, multiplicities = (
        v if hasattr(v, "dtype") else np.asarray(v, dtype=float)
        for v in (inputs, labels, multiplicities)
    )
    for name, v in (("inputs", inputs), ("labels", labels), ("multiplicities", multiplicities)):
        check_real(name, v)
    shapes = {np.shape(inputs), np.shape(labels), np.shape(multiplicities)}
    if len(shapes) != 1 or len(np.shape(inputs)) != 1:
        raise ValueError(
            "inputs, labels and multiplicities must be 1-D of one shape, got "
            f"{np.shape(inputs)}, {np.shape(labels)}, {np.shape(multiplicities)}"
        )
    check_nonnegative("multiplicities", multiplicities)
    dt = jnp.dtype(dtype) if dtype is not None else jnp.zeros(()).dtype
    return Data(jnp.asarray(inputs, dt), jnp.asarray(labels, dt), jnp.asarray(multiplicities, dt))


def weights(
    multiplicities: ArrayLike | None = None, forget: ArrayLike = 2, ratio: ArrayLike = 1.0
) -> Weights:
    """Weights of the pretrained, retrain and GDA objectives.

    With multiplicities :math:`m`, forget counts :math:`f` (:math:`0 \\le f \\le m`) and the
    ascent/descent step-size ratio :math:`r = \\eta_{\\text{ascent}} / \\eta_{\\text{descent}}`:

    .. math::

        w^{\\text{pre}} = m, \\qquad w^{\\text{ret}} = m - f, \\qquad
        w^{\\text{GDA}} = (m - f) - r f .

    Simultaneous GDA takes the step

    .. math::

        \\theta \\leftarrow \\theta - \\eta \\nabla L_{\\mathcal{R}}
        + r \\eta \\nabla L_{\\mathcal{F}},

    which is gradient descent with step :math:`\\eta` on
    :math:`L_{\\mathcal{R}} - r L_{\\mathcal{F}} = L_{w^{\\text{GDA}}}`; so an ascent step
    :math:`r` times the descent step reweights the forget points by :math:`-r` (paper App. B).
    The paper's example (forget two of the four copies at :math:`x = 4`, :math:`r = 1`)
    gives :math:`w^{\\text{GDA}}_4 = 4 - 2 - 2 = 0`.

    Args:
        multiplicities: :math:`m` (default: the paper's ``(5, 4, 1, 4)``).
        forget: a scalar count, forgotten at the LAST point (the paper forgets copies of
            :math:`x = 4`), or per-point counts, shape ``(..., n)`` (leading axes batch).
        ratio: :math:`r \\ge 0`, a scalar or an array of shape ``(...)`` (batch axes that
            broadcast against those of ``forget``).

    Returns:
        A :class:`Weights`.

    Raises:
        ValueError: if a forget count is negative or exceeds its multiplicity, or
            ``ratio`` is negative.

    Example:
        >>> import ascentjax as aj
        >>> w = aj.toy.weights(forget=2)
        >>> w.retain.tolist(), w.gda.tolist()
        ([5.0, 4.0, 1.0, 2.0], [5.0, 4.0, 1.0, 0.0])
    """
    m = jnp.asarray(PAPER_MULTIPLICITIES if multiplicities is None else multiplicities)
    if not jnp.issubdtype(m.dtype, jnp.floating):
        m = m.astype(jnp.zeros(()).dtype)
    check_nonnegative("multiplicities", m)
    forget = forget if hasattr(forget, "dtype") else np.asarray(forget, dtype=float)
    ratio = ratio if hasattr(ratio, "dtype") else np.asarray(ratio, dtype=float)
    check_nonnegative("forget", forget)
    check_nonnegative("ratio", ratio)
    f = jnp.asarray(forget, m.dtype)
    if f.ndim == 0:
        f = jnp.zeros_like(m).at[..., -1].set(f)
    if f.shape[-1:] != m.shape[-1:]:
        raise ValueError(
            f"forget must be a scalar or have a trailing axis of size {m.shape[-1]}, "
            f"got shape {f.shape}"
        )
    if not isinstance(f, jax.core.Tracer) and not isinstance(m, jax.core.Tracer):
        if np.any(np.asarray(f) > np.asarray(m)):
            raise ValueError(
                f"forget must be <= multiplicities, got forget={np.asarray(f).tolist()} "
                f"for multiplicities={np.asarray(m).tolist()}"
            )
    r = jnp.asarray(ratio, m.dtype)[..., None]
    shape = jnp.broadcast_shapes(m.shape, f.shape, r.shape)
    retain = jnp.broadcast_to(m - f, shape)
    return Weights(jnp.broadcast_to(m, shape), retain, retain - r * f)
