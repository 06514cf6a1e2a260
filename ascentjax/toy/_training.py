"""Training on the toy: a step size, descent through the core rule engine, Newton polish."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike
from jaxtyping import Array, Float

from .._rules import UnlearningRule, descent_rule
from .._sweep import sweep
from .._trajectory import run_rule
from .._validation import check_count, check_nonnegative, check_positive
from ._data import Data, Weights
from ._model import OutputMap, check_theta, float_dtype, get_output_map, loss_one, resolve_data

__all__ = ["descend", "gda_then_finetune", "polish", "stable_learning_rate", "weighted_descent"]

OptimizerFactory = Callable[[ArrayLike], optax.GradientTransformation]


def _curvature_constants(labels: Array, s: Callable[[Array], Array]) -> Array:
    """:math:`c_i = \\sup_z |\\partial_z^2 (s(z) - y_i)^2|`, on a dense grid of z."""
    z = jnp.linspace(-12.0, 12.0, 4001, dtype=labels.dtype)

    def second(zz: Array, y: Array) -> Array:
        return jax.grad(jax.grad(lambda u: (s(u) - y) ** 2))(zz)

    vals = jax.vmap(lambda y: jax.vmap(lambda zz: second(zz, y))(z))(labels)
    return jnp.max(jnp.abs(vals), axis=-1)


_curvature_jit = jax.jit(
    lambda labels, output_map: _curvature_constants(labels, get_output_map(output_map)),
    static_argnums=1,
)


def stable_learning_rate(
    weights: Float[ArrayLike, "*batch n"],
    data: Data | None = None,
    *,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
) -> Float[Array, "*batch"]:
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
        data: the data (default :func:`data`).
        lam: ridge strength.
        output_map: see :func:`get_output_map`.

    Returns:
        The step size, shape ``(...)``.

    Example:
        >>> import ascentjax as aj
        >>> lr = aj.toy.stable_learning_rate(aj.toy.weights().pretrained)
        >>> print(f"{float(lr):.4g}")
        0.0003392
    """
    check_nonnegative("lam", lam)
    dt = float_dtype(weights)
    data = resolve_data(data, dt)
    c = _curvature_jit(data.labels, output_map)
    phi2 = data.inputs**2 + data.inputs**4
    bound = jnp.sum(jnp.abs(jnp.asarray(weights, dt)) * c * phi2, axis=-1) + 2.0 * lam
    return 1.0 / bound


def weighted_descent(
    learning_rate: ArrayLike,
    weights: Float[ArrayLike, " n"],
    *,
    lam: ArrayLike = 0.1,
    output_map: OutputMap = "tanh",
    optimizer: OptimizerFactory = optax.sgd,
) -> UnlearningRule:
    """Descent on :math:`L_w` as an :class:`ascentjax.UnlearningRule` (params ``(2,)``).

    The rule's ``step(theta, state, data)`` takes a toy :class:`Data`; run it with
    :func:`ascentjax.run_rule`. Negative weights make it descent-ascent: with
    ``weights = weights(...).gda`` it is simultaneous GDA (see :func:`weights`).

    Args:
        learning_rate: step size :math:`\\eta > 0` (may be traced).
        weights: per-point weights, shape ``(n,)``.
        lam: ridge strength :math:`\\lambda \\ge 0`.
        output_map: see :func:`get_output_map`.
        optimizer: an optax factory ``learning_rate -> GradientTransformation``
            (default ``optax.sgd``).

    Returns:
        An :class:`ascentjax.UnlearningRule`.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> rule = aj.toy.weighted_descent(1e-3, aj.toy.weights().retain)
        >>> traj = aj.run_rule(rule, jnp.array([1.0, 0.0]), aj.toy.data(), steps=4000)
        >>> [round(float(v), 2) for v in traj.final]  # the oracle (retain minimum)
        [1.29, -0.25]
    """
    check_positive("learning_rate", learning_rate)
    check_nonnegative("lam", lam)
    s = get_output_map(output_map)

    def objective(theta: Array, data: Data) -> Array:
        return loss_one(theta, jnp.asarray(weights, theta.dtype), data, lam, s)

    return descent_rule(objective, optimizer=optimizer(learning_rate))


@functools.lru_cache(maxsize=64)
def _descend_row(steps: int, output_map: OutputMap, optimizer: OptimizerFactory) -> Callable:
    """One row of :func:`descend` (cached, so :func:`ascentjax.sweep` compiles it once)."""

    def row(theta0: Array, w: Array, eta: Array, data: Data, lam: Array) -> Array:
        rule = weighted_descent(eta, w, lam=lam, output_map=output_map, optimizer=optimizer)
        traj = run_rule(rule, theta0, data, steps=steps, stride=steps, bound=jnp.inf)
        return jnp.where(traj.diverged, jnp.nan, traj.final)  # non-finite: it diverged

    return row


def _broadcast_rows(theta: Array, weights: Array, lr: Array) -> tuple[Array, Array, Array, tuple]:
    shape = jnp.broadcast_shapes(theta.shape[:-1], weights.shape[:-1], lr.shape)
    th = jnp.broadcast_to(theta, shape + (2,)).reshape(-1, 2)
    w = jnp.broadcast_to(weights, shape + weights.shape[-1:]).reshape(-1, weights.shape[-1])
    eta = jnp.broadcast_to(lr, shape).reshape(-1)
    return th, w, eta, shape


def descend(
    theta0: Float[ArrayLike, "*batch 2"],
    weights: Float[ArrayLike, "*batch n"],
    data: Data | None = None,
    *,
    steps: int = 10_000,
    learning_rate: ArrayLike | None = None,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    optimizer: OptimizerFactory = optax.sgd,
) -> Float[Array, "*batch 2"]:
    """Run ``steps`` optimiser steps on :math:`L_w` from many initialisations at once.

    Every row of the broadcast batch of ``theta0``, ``weights`` and ``learning_rate`` is an
    independent run of :func:`weighted_descent` through :func:`ascentjax.run_rule`, all
    rows evaluated by one :func:`ascentjax.sweep` (by ``jax.vmap`` when traced inside an
    outer ``jit``/``grad``). With the default ``optax.sgd`` and step
    :func:`stable_learning_rate` this is monotone gradient descent, a discretisation of the
    gradient flow :math:`\\dot\\theta = -\\nabla L_w(\\theta)`. A run whose parameters
    become non-finite returns NaN.

    Args:
        theta0: initial parameters, shape ``(..., 2)``.
        weights: per-point weights, shape ``(..., n)`` (negative entries = ascent).
        data: the data (default :func:`data` in ``theta0``'s dtype).
        steps: number of steps (static).
        learning_rate: step size(s), broadcastable to the batch; ``None`` uses
            :func:`stable_learning_rate` of each row's weights.
        lam: ridge strength.
        output_map: see :func:`get_output_map` (static; a callable must be hashable).
        optimizer: an optax factory ``learning_rate -> GradientTransformation``
            (default ``optax.sgd``); e.g. ``optax.adam`` (its basins differ from the flow's).

    Returns:
        Final parameters, shape ``(batch..., 2)``.

    Example:
        >>> import numpy as np, jax.numpy as jnp, ascentjax as aj
        >>> th0 = jnp.array([[1.0, 0.0], [2.0, -1.0]])
        >>> th = aj.toy.descend(th0, aj.toy.weights().gda, steps=3000)
        >>> np.asarray(th, float).round(1).tolist()
        [[1.8, -0.7], [1.8, -0.7]]
    """
    check_theta(theta0)
    check_count("steps", steps, minimum=0)
    check_nonnegative("lam", lam)
    if learning_rate is not None:
        check_positive("learning_rate", learning_rate)
    dt = float_dtype(theta0, weights)
    data = resolve_data(data, dt)
    if learning_rate is None:
        learning_rate = stable_learning_rate(weights, data, lam=lam, output_map=output_map)
    th, w, eta, shape = _broadcast_rows(
        jnp.asarray(theta0, dt), jnp.asarray(weights, dt), jnp.asarray(learning_rate, dt)
    )
    if int(steps) == 0:
        return th.reshape(shape + (2,))
    row = _descend_row(int(steps), output_map, optimizer)
    args, axes = (th, w, eta, data, jnp.asarray(lam, dt)), (0, 0, 0, None, None)
    if any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(args)):
        # inside an outer jit/grad: a plain vmap (sweep compiles its own top-level jit)
        out = jax.vmap(row, in_axes=axes)(*args)
    else:
        out = sweep(row, *args, in_axes=axes)
    return out.reshape(shape + (2,))


def _polish_impl(theta, weights, data, iterations, lam, output_map, max_step):
    s = get_output_map(output_map)
    grad = jax.grad(loss_one)
    hess = jax.hessian(loss_one)
    shrink = 0.5 ** jnp.arange(12, dtype=theta.dtype)  # backtracking factors 1, 1/2, ...

    def one(th0: Array, w: Array) -> Array:
        def body(_, th):
            g = grad(th, w, data, lam, s)
            evals, evecs = jnp.linalg.eigh(hess(th, w, data, lam, s))
            floor = 1e-6 * jnp.max(jnp.abs(evals)) + jnp.finfo(th.dtype).tiny
            d = -evecs @ ((evecs.T @ g) / jnp.maximum(jnp.abs(evals), floor))
            d = d * jnp.minimum(1.0, max_step / jnp.maximum(jnp.linalg.norm(d), floor))
            cands = th + shrink[:, None] * d
            vals = jax.vmap(lambda c: loss_one(c, w, data, lam, s))(cands)
            ok = vals < loss_one(th, w, data, lam, s)
            first = jnp.argmax(ok)
            return jnp.where(ok[first], cands[first], th)

        return jax.lax.fori_loop(0, iterations, body, th0)

    return jax.vmap(one)(theta, weights)


_polish_jit = jax.jit(_polish_impl, static_argnums=(3, 4, 5, 6))


def polish(
    theta: Float[ArrayLike, "*batch 2"],
    weights: Float[ArrayLike, "*batch n"],
    data: Data | None = None,
    *,
    iterations: int = 50,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    max_step: float = 0.05,
) -> Float[Array, "*batch 2"]:
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
        data: the data (default :func:`data`).
        iterations: number of iterations (static).
        lam: ridge strength.
        output_map: see :func:`get_output_map`.
        max_step: longest Newton move, in parameter units.

    Returns:
        Polished parameters, shape ``(batch..., 2)``.

    Example:
        >>> import numpy as np, jax.numpy as jnp, ascentjax as aj
        >>> th = aj.toy.polish(jnp.array([1.3, -0.25]), aj.toy.weights().pretrained)
        >>> np.asarray(th, float).round(3).tolist()
        [1.346, -0.249]
    """
    check_theta(theta)
    check_count("iterations", iterations, minimum=0)
    check_positive("max_step", max_step)
    dt = float_dtype(theta, weights)
    data = resolve_data(data, dt)
    th, w, _, shape = _broadcast_rows(
        jnp.asarray(theta, dt), jnp.asarray(weights, dt), jnp.ones((), dt)
    )
    out = _polish_jit(th, w, data, int(iterations), float(lam), output_map, float(max_step))
    return out.reshape(shape + (2,))


def gda_then_finetune(
    theta0: Float[ArrayLike, "*batch 2"],
    weights: Weights,
    data: Data | None = None,
    *,
    steps: int = 10_000,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    polish_iterations: int = 0,
) -> tuple[Float[Array, "*batch 2"], Float[Array, "*batch 2"]]:
    """Unlearn with GDA, then fine-tune on the retain set (descent only).

    Runs :func:`descend` on :math:`L_{w^{\\text{GDA}}}` from ``theta0`` (typically the
    pretrained model), then :func:`descend` on the retain objective
    :math:`L_{w^{\\text{ret}}}` from the GDA endpoint. Batched over the leading axes of
    ``theta0`` and of the weights (e.g. a grid of ratios and forget counts).

    Args:
        theta0: starting parameters, shape ``(..., 2)``.
        weights: a :class:`Weights` (from :func:`weights`).
        data: the data (default :func:`data`).
        steps: descent steps of each stage.
        lam: ridge strength.
        output_map: see :func:`get_output_map`.
        polish_iterations: :func:`polish` iterations after each stage (0: none), which
            converge each stage's endpoint to its minimum.

    Returns:
        ``(theta_gda, theta_finetuned)``.

    Example:
        >>> import numpy as np, jax.numpy as jnp, ascentjax as aj
        >>> th_pre = jnp.array([1.346, -0.249])
        >>> g, f = aj.toy.gda_then_finetune(th_pre, aj.toy.weights(), steps=5000)
        >>> np.asarray(f, float).round(1).tolist()
        [1.8, -0.7]
    """
    check_count("polish_iterations", polish_iterations, minimum=0)
    kw = dict(lam=lam, output_map=output_map)

    def stage(theta: Array, w: Array) -> Array:
        theta = descend(theta, w, data, steps=steps, **kw)
        if polish_iterations:
            theta = polish(theta, w, data, iterations=polish_iterations, **kw)
        return theta

    theta_gda = stage(theta0, weights.gda)
    return theta_gda, stage(theta_gda, weights.retain)
