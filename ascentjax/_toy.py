"""The nonconvex toy model of the paper's Sec. 5.2, Fig. 5 and App. B.

Four inputs :math:`x \\in \\{-1, 1, 3, 4\\}` with labels :math:`(-1, +1, -1, +1)` and
multiplicities :math:`(5, 4, 1, 4)` are embedded as :math:`\\phi(x) = (x, x^2)`; the model
is :math:`h_\\theta(x) = s(a x + b x^2)` with :math:`\\theta = (a, b)` and an output map
:math:`s` (``"tanh"`` by default), and every objective is a weighted squared loss

.. math::

    L_w(\\theta) = \\sum_i w_i \\, (h_\\theta(x_i) - y_i)^2 + \\lambda \\lVert\\theta\\rVert^2 .

The pretrained, retrain (oracle) and gradient descent-ascent (GDA) objectives differ
only in the weights :math:`w` (:func:`toy_weights`). Negative weights are allowed: they
are the ascent part of GDA.

The landscape tools are split into a jit/vmap-able numeric core (:func:`toy_loss`,
:func:`toy_landscape`, :func:`toy_descend`, :func:`toy_polish`,
:func:`toy_gda_then_finetune`) and one host-side analysis, :func:`toy_find_minima`,
whose output (the number of minima) has a data-dependent size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._validation import check_count, check_nonnegative, check_positive, check_real

__all__ = [
    "ToyData",
    "ToyWeights",
    "ToyBasins",
    "toy_data",
    "toy_weights",
    "toy_output_map",
    "toy_predict",
    "toy_loss",
    "toy_correct",
    "toy_landscape",
    "toy_grid",
    "toy_learning_rate",
    "toy_descend",
    "toy_polish",
    "toy_gda_then_finetune",
    "toy_find_minima",
]

Array = jax.Array
OutputMap = str | Callable[[Array], Array]

_PAPER_INPUTS = (-1.0, 1.0, 3.0, 4.0)
_PAPER_LABELS = (-1.0, 1.0, -1.0, 1.0)
_PAPER_MULTIPLICITIES = (5.0, 4.0, 1.0, 4.0)
_OUTPUT_MAPS = ("tanh", "tanh_half", "paper_sigmoid")


# ----------------------------------------------------------------------------- data and weights
class ToyData(NamedTuple):
    """The toy data set: inputs, labels and multiplicities, each of shape ``(n,)``.

    Fields:

    * ``inputs``: scalar inputs :math:`x_i` (embedded as :math:`(x_i, x_i^2)`).
    * ``labels``: labels :math:`y_i \\in \\{-1, +1\\}`.
    * ``multiplicities``: how many copies of each point the full training set holds.
    """

    inputs: Array
    labels: Array
    multiplicities: Array


class ToyWeights(NamedTuple):
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


def toy_data(
    dtype: Any = None,
    *,
    inputs: Any = _PAPER_INPUTS,
    labels: Any = _PAPER_LABELS,
    multiplicities: Any = _PAPER_MULTIPLICITIES,
) -> ToyData:
    """The toy data of the paper's Sec. 5.2 (or a user-given variant).

    Defaults: :math:`x = (-1, 1, 3, 4)`, :math:`y = (-1, +1, -1, +1)`,
    :math:`m = (5, 4, 1, 4)` (14 weighted points).

    Args:
        dtype: floating dtype of the arrays (``None``: JAX's default float).
        inputs: the scalar inputs.
        labels: the labels, same shape.
        multiplicities: nonnegative copy counts, same shape.

    Returns:
        A :class:`ToyData`.

    Raises:
        ValueError: on mismatched shapes or negative multiplicities.

    Example:
        >>> import ascentjax as aj
        >>> aj.toy_data().multiplicities.tolist()
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
    return ToyData(
        jnp.asarray(inputs, dt), jnp.asarray(labels, dt), jnp.asarray(multiplicities, dt)
    )


def toy_weights(multiplicities: Any = None, forget: Any = 2, ratio: Any = 1.0) -> ToyWeights:
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
        A :class:`ToyWeights`.

    Raises:
        ValueError: if a forget count is negative or exceeds its multiplicity, or
            ``ratio`` is negative.

    Example:
        >>> import ascentjax as aj
        >>> w = aj.toy_weights(forget=2)
        >>> w.retain.tolist(), w.gda.tolist()
        ([5.0, 4.0, 1.0, 2.0], [5.0, 4.0, 1.0, 0.0])
    """
    m = jnp.asarray(_PAPER_MULTIPLICITIES if multiplicities is None else multiplicities)
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
    return ToyWeights(jnp.broadcast_to(m, shape), retain, retain - r * f)


# ----------------------------------------------------------------------------- model and loss
def _tanh_half(z: Array) -> Array:
    return jnp.tanh(0.5 * z)


def _paper_sigmoid(z: Array) -> Array:
    return jax.nn.sigmoid(0.5 * (1.0 + z))


def toy_output_map(output_map: OutputMap = "tanh") -> Callable[[Array], Array]:
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
        >>> round(float(aj.toy_output_map("tanh_half")(2.0)), 6)  # = tanh(1)
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
    raise ValueError(f"output_map must be one of {_OUTPUT_MAPS} or a callable, got {output_map!r}")


def _check_theta(theta: Any) -> None:
    if np.shape(theta)[-1:] != (2,):
        raise ValueError(f"theta must have a trailing axis of size 2 (a, b), got {np.shape(theta)}")


def _resolve_data(data: ToyData | None, dtype: Any) -> ToyData:
    if data is None:
        return toy_data(dtype)
    return ToyData(*(jnp.asarray(v, dtype) for v in data))


def _float_dtype(*xs: Any) -> Any:
    dt = jnp.result_type(*xs)
    return dt if jnp.issubdtype(dt, jnp.floating) else jnp.zeros(()).dtype


def toy_predict(theta: Any, inputs: Any, output_map: OutputMap = "tanh") -> Array:
    """Model output :math:`h_\\theta(x) = s(a x + b x^2)`.

    Args:
        theta: parameters :math:`(a, b)`, shape ``(..., 2)``.
        inputs: inputs :math:`x`, shape ``(n,)``.
        output_map: see :func:`toy_output_map`.

    Returns:
        Outputs of shape ``(..., n)``.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> aj.toy_predict(jnp.array([1.0, 0.0]), jnp.array([0.0])).tolist()
        [0.0]
    """
    _check_theta(theta)
    s = toy_output_map(output_map)
    dt = _float_dtype(theta, inputs)
    theta = jnp.asarray(theta, dt)
    x = jnp.asarray(inputs, dt)
    z = theta[..., 0:1] * x + theta[..., 1:2] * x * x
    return s(z)


def toy_loss(
    theta: Any,
    weights: Any,
    data: ToyData | None = None,
    *,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
) -> Array:
    """Weighted squared loss of the toy model.

    .. math::

        L_w(\\theta) = \\sum_i w_i (h_\\theta(x_i) - y_i)^2 + \\lambda \\lVert\\theta\\rVert^2 .

    The sum is unnormalised (weights are copy counts); weights may be negative (ascent).

    Args:
        theta: parameters, shape ``(..., 2)``.
        weights: per-point weights, shape ``(..., n)`` (broadcast against ``theta``).
        data: the data (default :func:`toy_data` in ``theta``'s dtype).
        lam: ridge strength :math:`\\lambda \\ge 0`.
        output_map: see :func:`toy_output_map`.

    Returns:
        The loss, shape ``(...)``.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> w = aj.toy_weights().pretrained
        >>> round(float(aj.toy_loss(jnp.array([1.3459, -0.2487]), w)), 3)
        4.221
    """
    _check_theta(theta)
    check_nonnegative("lam", lam)
    dt = _float_dtype(theta, weights)
    theta = jnp.asarray(theta, dt)
    data = _resolve_data(data, dt)
    h = toy_predict(theta, data.inputs, output_map)
    w = jnp.asarray(weights, dt)
    return jnp.sum(w * (h - data.labels) ** 2, axis=-1) + lam * jnp.sum(theta * theta, axis=-1)


def toy_correct(theta: Any, data: ToyData | None = None, output_map: OutputMap = "tanh") -> Array:
    """Which points the model classifies right: :math:`\\operatorname{sign} h_\\theta(x_i) = y_i`.

    Args:
        theta: parameters, shape ``(..., 2)``.
        data: the data (default :func:`toy_data`).
        output_map: see :func:`toy_output_map`.

    Returns:
        Boolean array of shape ``(..., n)``. Weighted counts are
        ``(correct * weights).sum(-1)``.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> aj.toy_correct(jnp.array([1.35, -0.25])).tolist()
        [True, True, False, True]
    """
    dt = _float_dtype(theta)
    data = _resolve_data(data, dt)
    h = toy_predict(theta, data.inputs, output_map)
    return jnp.sign(h) == jnp.sign(data.labels)


def toy_grid(
    a_range: tuple[float, float] = (-0.5, 3.0),
    b_range: tuple[float, float] = (-1.25, 0.25),
    n_a: int = 64,
    n_b: int = 64,
    dtype: Any = None,
) -> tuple[Array, Array, Array]:
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
        >>> a, b, pts = aj.toy_grid(n_a=3, n_b=2)
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


def toy_landscape(
    weights: Any,
    a: Any,
    b: Any,
    data: ToyData | None = None,
    *,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
) -> Array:
    """The loss :math:`L_w(a, b)` on a grid (one vmapped evaluation).

    Args:
        weights: per-point weights, shape ``(n,)``.
        a: grid axis of :math:`a`, shape ``(n_a,)``.
        b: grid axis of :math:`b`, shape ``(n_b,)``.
        data: the data (default :func:`toy_data`).
        lam: ridge strength.
        output_map: see :func:`toy_output_map`.

    Returns:
        Array of shape ``(n_b, n_a)``: entry ``[j, i]`` is :math:`L_w(a_i, b_j)`.

    Example:
        >>> import numpy as np, jax.numpy as jnp, ascentjax as aj
        >>> a, b = jnp.linspace(0, 2, 5), jnp.linspace(-1, 0, 3)
        >>> z = aj.toy_landscape(aj.toy_weights().gda, a, b)
        >>> np.asarray(z, float).round(2)[-1].tolist()  # b = 0; a = 0, 0.5, ..., 2
        [10.0, 6.26, 4.59, 4.3, 4.41]
    """
    dt = _float_dtype(a, b, weights)
    a = jnp.asarray(a, dt)
    b = jnp.asarray(b, dt)

    def row(bj: Array) -> Array:
        th = jnp.stack([a, jnp.broadcast_to(bj, a.shape)], axis=-1)
        return toy_loss(th, weights, data, lam=lam, output_map=output_map)

    return jax.vmap(row)(b)


# ----------------------------------------------------------------------------- descent
def _curvature_constants(labels: Array, s: Callable[[Array], Array]) -> Array:
    """:math:`c_i = \\sup_z |\\partial_z^2 (s(z) - y_i)^2|`, on a dense grid of z."""
    z = jnp.linspace(-12.0, 12.0, 4001, dtype=labels.dtype)

    def second(zz: Array, y: Array) -> Array:
        return jax.grad(jax.grad(lambda u: (s(u) - y) ** 2))(zz)

    vals = jax.vmap(lambda y: jax.vmap(lambda zz: second(zz, y))(z))(labels)
    return jnp.max(jnp.abs(vals), axis=-1)


_curvature_jit = jax.jit(
    lambda labels, output_map: _curvature_constants(labels, toy_output_map(output_map)),
    static_argnums=1,
)


def toy_learning_rate(
    weights: Any,
    data: ToyData | None = None,
    *,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
) -> Array:
    """A step size :math:`1/L` from a global bound :math:`L` on the Hessian of :math:`L_w`.

    Since :math:`\\nabla^2 L_w = \\sum_i w_i \\, \\partial_z^2 (s(z_i) - y_i)^2 \\,
    \\phi_i \\phi_i^\\top + 2\\lambda I` with :math:`\\phi_i = (x_i, x_i^2)`,

    .. math::

        \\lVert \\nabla^2 L_w \\rVert \\le L = \\sum_i |w_i| \\, c_i \\lVert\\phi_i\\rVert^2
        + 2 \\lambda, \\qquad c_i = \\sup_z |\\partial_z^2 (s(z) - y_i)^2|,

    with :math:`c_i` evaluated on a dense grid of :math:`z \\in [-12, 12]`. Gradient descent
    with step :math:`1/L` decreases :math:`L_w` monotonically, so it approximates the
    gradient flow whose basins of attraction the landscape tools report.

    Args:
        weights: per-point weights, shape ``(..., n)``.
        data: the data (default :func:`toy_data`).
        lam: ridge strength.
        output_map: see :func:`toy_output_map`.

    Returns:
        The step size, shape ``(...)``.

    Example:
        >>> import ascentjax as aj
        >>> lr = aj.toy_learning_rate(aj.toy_weights().pretrained)
        >>> print(f"{float(lr):.4g}")
        0.0003392
    """
    check_nonnegative("lam", lam)
    dt = _float_dtype(weights)
    data = _resolve_data(data, dt)
    c = _curvature_jit(data.labels, output_map)
    phi2 = data.inputs**2 + data.inputs**4
    bound = jnp.sum(jnp.abs(jnp.asarray(weights, dt)) * c * phi2, axis=-1) + 2.0 * lam
    return 1.0 / bound


def _loss_one(theta: Array, w: Array, data: ToyData, lam: float, s: Callable) -> Array:
    z = theta[0] * data.inputs + theta[1] * data.inputs**2
    return jnp.sum(w * (s(z) - data.labels) ** 2) + lam * jnp.dot(theta, theta)


def _descend_impl(theta0, weights, lr, data, steps, lam, output_map, optimizer):
    s = toy_output_map(output_map)
    grad = jax.grad(_loss_one)

    def one(th0: Array, w: Array, eta: Array) -> Array:
        tx = optimizer(eta)
        state = tx.init(th0)

        def step(carry, _):
            th, st = carry
            upd, st = tx.update(grad(th, w, data, lam, s), st, th)
            return (optax.apply_updates(th, upd), st), None

        (th, _), _ = jax.lax.scan(step, (th0, state), None, length=steps)
        return th

    return jax.vmap(one)(theta0, weights, lr)


_descend_jit = jax.jit(_descend_impl, static_argnums=(4, 5, 6, 7))


def _batch(theta0: Any, weights: Any, lr: Any, dt: Any) -> tuple[Array, Array, Array, tuple]:
    theta0 = jnp.asarray(theta0, dt)
    weights = jnp.asarray(weights, dt)
    lr = jnp.asarray(lr, dt)
    shape = jnp.broadcast_shapes(theta0.shape[:-1], weights.shape[:-1], lr.shape)
    th = jnp.broadcast_to(theta0, shape + (2,)).reshape(-1, 2)
    w = jnp.broadcast_to(weights, shape + weights.shape[-1:]).reshape(-1, weights.shape[-1])
    eta = jnp.broadcast_to(lr, shape).reshape(-1)
    return th, w, eta, shape


def toy_descend(
    theta0: Any,
    weights: Any,
    data: ToyData | None = None,
    *,
    steps: int = 10_000,
    learning_rate: Any = None,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    optimizer: Callable[[Any], optax.GradientTransformation] = optax.sgd,
) -> Array:
    """Run ``steps`` optimiser steps on :math:`L_w` from many initialisations at once.

    One jit-compiled ``vmap`` of a ``lax.scan``: every row of the broadcast batch of
    ``theta0``, ``weights`` and ``learning_rate`` is an independent run. With the default
    ``optax.sgd`` and step :func:`toy_learning_rate` this is monotone gradient descent, a
    discretisation of the gradient flow :math:`\\dot\\theta = -\\nabla L_w(\\theta)`.

    Args:
        theta0: initial parameters, shape ``(..., 2)``.
        weights: per-point weights, shape ``(..., n)`` (negative entries = ascent).
        data: the data (default :func:`toy_data` in ``theta0``'s dtype).
        steps: number of steps (static).
        learning_rate: step size(s), broadcastable to the batch; ``None`` uses
            :func:`toy_learning_rate` of each row's weights.
        lam: ridge strength.
        output_map: see :func:`toy_output_map` (static; a callable must be hashable).
        optimizer: an optax factory ``learning_rate -> GradientTransformation``
            (default ``optax.sgd``); e.g. ``optax.adam`` (its basins differ from the flow's).

    Returns:
        Final parameters, shape ``(batch..., 2)``.

    Example:
        >>> import numpy as np, jax.numpy as jnp, ascentjax as aj
        >>> th0 = jnp.array([[1.0, 0.0], [2.0, -1.0]])
        >>> th = aj.toy_descend(th0, aj.toy_weights().gda, steps=3000)
        >>> np.asarray(th, float).round(1).tolist()
        [[1.8, -0.7], [1.8, -0.7]]
    """
    _check_theta(theta0)
    check_count("steps", steps, minimum=0)
    check_nonnegative("lam", lam)
    if learning_rate is not None:
        check_positive("learning_rate", learning_rate)
    dt = _float_dtype(theta0, weights)
    data = _resolve_data(data, dt)
    if learning_rate is None:
        learning_rate = toy_learning_rate(weights, data, lam=lam, output_map=output_map)
    th, w, eta, shape = _batch(theta0, weights, learning_rate, dt)
    out = _descend_jit(th, w, eta, data, int(steps), float(lam), output_map, optimizer)
    return out.reshape(shape + (2,))


def _polish_impl(theta, weights, data, iterations, lam, output_map, max_step):
    s = toy_output_map(output_map)
    loss = _loss_one
    grad = jax.grad(loss)
    hess = jax.hessian(loss)
    shrink = 0.5 ** jnp.arange(12, dtype=theta.dtype)  # backtracking factors 1, 1/2, ...

    def one(th0: Array, w: Array) -> Array:
        def body(_, th):
            g = grad(th, w, data, lam, s)
            evals, evecs = jnp.linalg.eigh(hess(th, w, data, lam, s))
            floor = 1e-6 * jnp.max(jnp.abs(evals)) + jnp.finfo(th.dtype).tiny
            d = -evecs @ ((evecs.T @ g) / jnp.maximum(jnp.abs(evals), floor))
            d = d * jnp.minimum(1.0, max_step / jnp.maximum(jnp.linalg.norm(d), floor))
            cands = th + shrink[:, None] * d
            vals = jax.vmap(lambda c: loss(c, w, data, lam, s))(cands)
            ok = vals < loss(th, w, data, lam, s)
            first = jnp.argmax(ok)
            return jnp.where(ok[first], cands[first], th)

        return jax.lax.fori_loop(0, iterations, body, th0)

    return jax.vmap(one)(theta, weights)


_polish_jit = jax.jit(_polish_impl, static_argnums=(3, 4, 5, 6))


def toy_polish(
    theta: Any,
    weights: Any,
    data: ToyData | None = None,
    *,
    iterations: int = 50,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    max_step: float = 0.05,
) -> Array:
    """Safeguarded Newton iterations: converge gradient-descent endpoints to their minimum.

    Each iteration takes the saddle-free Newton direction
    :math:`d = -V |\\Lambda|^{-1} V^\\top \\nabla L_w` (with :math:`H = V \\Lambda V^\\top`
    the Hessian; :math:`|\\Lambda|` is floored at :math:`10^{-6} \\max|\\Lambda|`), a descent
    direction everywhere that equals Newton's step near a minimum; its length is clipped to
    ``max_step`` and it is halved (up to 11 times) until the loss decreases, else the point
    stays. Every move decreases the loss and is short, so a point well inside a basin stays
    in it, and near a minimum convergence is quadratic.

    Args:
        theta: parameters, shape ``(..., 2)``.
        weights: per-point weights, shape ``(..., n)``.
        data: the data (default :func:`toy_data`).
        iterations: number of iterations (static).
        lam: ridge strength.
        output_map: see :func:`toy_output_map`.
        max_step: longest Newton move, in parameter units.

    Returns:
        Polished parameters, shape ``(batch..., 2)``.

    Example:
        >>> import numpy as np, jax.numpy as jnp, ascentjax as aj
        >>> th = aj.toy_polish(jnp.array([1.3, -0.25]), aj.toy_weights().pretrained)
        >>> np.asarray(th, float).round(3).tolist()
        [1.346, -0.249]
    """
    _check_theta(theta)
    check_count("iterations", iterations, minimum=0)
    check_positive("max_step", max_step)
    dt = _float_dtype(theta, weights)
    data = _resolve_data(data, dt)
    th, w, _, shape = _batch(theta, weights, 1.0, dt)
    out = _polish_jit(th, w, data, int(iterations), float(lam), output_map, float(max_step))
    return out.reshape(shape + (2,))


def toy_gda_then_finetune(
    theta0: Any,
    weights: ToyWeights,
    data: ToyData | None = None,
    *,
    steps: int = 10_000,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
) -> tuple[Array, Array]:
    """Unlearn with GDA, then fine-tune on the retain set (descent only).

    Runs :func:`toy_descend` on :math:`L_{w^{\\text{GDA}}}` from ``theta0`` (typically the
    pretrained model), then :func:`toy_descend` on the retain objective
    :math:`L_{w^{\\text{ret}}}` from the GDA endpoint. Batched over the leading axes of
    ``theta0`` and of the weights (e.g. a grid of ratios and forget counts).

    Args:
        theta0: starting parameters, shape ``(..., 2)``.
        weights: a :class:`ToyWeights` (from :func:`toy_weights`).
        data: the data (default :func:`toy_data`).
        steps: descent steps of each stage.
        lam: ridge strength.
        output_map: see :func:`toy_output_map`.

    Returns:
        ``(theta_gda, theta_finetuned)``.

    Example:
        >>> import numpy as np, jax.numpy as jnp, ascentjax as aj
        >>> th_pre = jnp.array([1.346, -0.249])
        >>> g, f = aj.toy_gda_then_finetune(th_pre, aj.toy_weights(), steps=5000)
        >>> np.asarray(f, float).round(1).tolist()
        [1.8, -0.7]
    """
    kw = dict(steps=steps, lam=lam, output_map=output_map)
    theta_gda = toy_descend(theta0, weights.gda, data, **kw)
    theta_ft = toy_descend(theta_gda, weights.retain, data, **kw)
    return theta_gda, theta_ft


# ----------------------------------------------------------------------------- basins
class ToyBasins(NamedTuple):
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
    s = toy_output_map(output_map)

    def one(t: Array) -> tuple[Array, Array, Array]:
        g = jax.grad(_loss_one)(t, weights, data, lam, s)
        h = jax.hessian(_loss_one)(t, weights, data, lam, s)
        return _loss_one(t, weights, data, lam, s), jnp.linalg.norm(g), jnp.linalg.eigvalsh(h)

    return jax.vmap(one)(pts)


_analyse_jit = jax.jit(_analyse_impl, static_argnums=(3, 4))


def _default_tols(dt: Any) -> tuple[float, float]:
    # (gradient tolerance, clustering distance): float32 gradients carry rounding errors of
    # order eps * sum|w| |phi|^2 ~ 1e-7 * 1e3, so they get looser tolerances.
    return (1e-6, 1e-4) if jnp.dtype(dt) == jnp.float64 else (5e-2, 1e-2)


def toy_find_minima(
    weights: Any,
    inits: Any,
    data: ToyData | None = None,
    *,
    steps: int = 10_000,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    polish_iterations: int = 50,
    gtol: float | None = None,
    tol: float | None = None,
    endpoints: Any = None,
) -> ToyBasins:
    """Find every local minimum reached from a set of initialisations, and its basin.

    A deterministic procedure:

    1. gradient descent (:func:`toy_descend`, step :func:`toy_learning_rate`) from every
       initialisation, all at once (skipped when ``endpoints`` are given);
    2. :func:`toy_polish` of every endpoint (safeguarded Newton);
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
        inits: initialisations, shape ``(S, 2)`` (e.g. from :func:`toy_grid`).
        data: the data (default :func:`toy_data`).
        steps: gradient-descent steps.
        lam: ridge strength.
        output_map: see :func:`toy_output_map`.
        polish_iterations: iterations of :func:`toy_polish`.
        gtol: gradient-norm tolerance (default ``1e-6`` in float64, ``5e-2`` in float32).
        tol: clustering distance (default ``1e-4`` in float64, ``1e-2`` in float32).
        endpoints: precomputed :func:`toy_descend` endpoints from ``inits`` (optional).

    Returns:
        A :class:`ToyBasins`.

    Example:
        >>> import numpy as np, ascentjax as aj
        >>> _, _, inits = aj.toy_grid(n_a=8, n_b=8)
        >>> basins = aj.toy_find_minima(aj.toy_weights().pretrained, inits, steps=4000)
        >>> np.asarray(basins.minima, float).round(2).tolist()
        [[1.35, -0.25], [1.81, -0.74]]
    """
    inits = jnp.asarray(inits)
    if inits.ndim != 2 or inits.shape[-1] != 2:
        raise ValueError(f"inits must have shape (S, 2), got {inits.shape}")
    weights = jnp.asarray(weights)
    if weights.ndim != 1:
        raise ValueError(f"weights must have shape (n,), got {weights.shape}")
    dt = _float_dtype(inits, weights)
    g_default, t_default = _default_tols(dt)
    gtol = g_default if gtol is None else gtol
    tol = t_default if tol is None else tol
    check_positive("gtol", gtol)
    check_positive("tol", tol)
    data = _resolve_data(data, dt)
    kw = dict(lam=lam, output_map=output_map)
    if endpoints is None:
        endpoints = toy_descend(inits, weights, data, steps=steps, **kw)
    pts = toy_polish(endpoints, weights, data, iterations=polish_iterations, **kw)

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
    correct = (
        toy_correct(centre_pts, data, output_map)
        if keep.size
        else jnp.zeros((0, data.inputs.shape[0]), bool)
    )
    return ToyBasins(
        minima=centre_pts,
        losses=jnp.asarray(f[idx[keep]], dt) if keep.size else jnp.zeros((0,), dt),
        hessian_eigenvalues=jnp.asarray(eig[keep], dt),
        correct=correct,
        labels=jnp.asarray(labels),
        endpoints=pts,
    )
