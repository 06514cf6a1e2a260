r"""Unlearning methods as pure update rules with one shared signature (optax style).

An :class:`UnlearningRule` is a pair of pure functions

* ``init(params) -> state``
* ``step(params, state, data) -> (params, state)``

so every method (retraining, descent-ascent, gradient ascent, or your own) runs
through the same :func:`ascentjax.run_rule` trajectory engine and the same
:func:`ascentjax.sweep`. A rule may add a third function,
``prepare(data) -> batch``, that :func:`~ascentjax.run_rule` calls once before the
step loop; ``step`` then receives the batch instead of the dataset. The
factories below build rules for a linear model ``params = w`` of shape ``(d,)``
on a :class:`ascentjax.Dataset`; the generic :func:`descent_rule` takes any
scalar objective ``objective(params, data)`` and therefore any params pytree.

Step sizes and ridge strengths may be traced values: build the rule *inside*
the function you ``vmap``/:func:`~ascentjax.sweep` over, and it sweeps over
``learning_rate`` and ``lam`` like any other argument. Any optax ``GradientTransformation``
can replace the default plain gradient step ``optax.sgd(learning_rate)``.

The built-in linear-model rules use ``prepare`` to store the data once in the
layout their step reads fastest: :math:`Z^\top` with :math:`z_i = y_i x_i`, shape
``(d, n)`` (samples on the vector lanes), with the per-sample weights already
normalised. Their gradients are the same as those of the :class:`Dataset`
objectives (tested); only the memory layout and the loop-invariant work differ,
which halves the time of a DA sweep on CPU (``docs/benchmarks.md``). Their steps
also accept a plain :class:`Dataset`, so calling ``rule.step`` directly still works.

Writing your own rule: return ``UnlearningRule(init, step)`` with the same
signature, e.g. ascent on the forget loss with gradient clipping::

    def clipped_ascent(learning_rate, clip):
        def init(w):
            return ()
        def step(w, state, data):
            g = jax.grad(ascentjax.forget_loss)(w, data)
            return w + learning_rate * jnp.clip(g, -clip, clip), state
        return ascentjax.UnlearningRule(init, step)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from ._data import Dataset
from ._losses import get_loss
from ._objectives import check_params_shape, ridge, set_weights
from ._validation import check_nonnegative, check_positive

__all__ = [
    "UnlearningRule",
    "descent_rule",
    "gradient_ascent",
    "iterative_da",
    "pretrain",
    "retrain",
    "simultaneous_da",
]

Params = Any
State = Any
LossLike = str | Callable[[jax.Array], jax.Array]


class UnlearningRule(NamedTuple):
    r"""An unlearning method as a pair of pure functions (optax style).

    Fields:

    * ``init``: ``init(params) -> state``, the method's initial state (optimizer
      state, counters; ``()`` when stateless).
    * ``step``: ``step(params, state, data) -> (params, state)``, one update on the
      :class:`ascentjax.Dataset` ``data`` (or on ``prepare(data)``, see below).
    * ``prepare`` (optional, default ``None``): ``prepare(data) -> batch``, called
      once by :func:`ascentjax.run_rule` before the step loop; ``step`` then gets
      ``batch`` in place of ``data``. Use it for loop-invariant work on the data
      (a transposed copy, normalised weights); ``None`` passes the dataset through.

    Every built-in factory returns one, and a user-written rule with the same
    two functions runs through :func:`ascentjax.run_rule` and
    :func:`ascentjax.sweep` unchanged.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> import ascentjax as aj
        >>> def my_rule(learning_rate):  # plain gradient ascent on the forget loss
        ...     def step(w, state, data):
        ...         return w + learning_rate * jax.grad(aj.forget_loss)(w, data), state
        ...     return aj.UnlearningRule(init=lambda w: (), step=step)
        >>> data = aj.one_coordinate_data(None, 5, 1.0, n_retain=100, n_forget=10)
        >>> traj = aj.run_rule(my_rule(0.1), jnp.zeros(1), data, steps=3)
        >>> bool(traj.final[0] < 0)  # ascent lowers the forget margin
        True
    """

    init: Callable[[Params], State]
    step: Callable[[Params, State, Any], tuple[Params, State]]
    prepare: Callable[[Dataset], Any] | None = None


class _LinearBatch(NamedTuple):
    """A :class:`Dataset` laid out for the built-in linear-model rules (a pytree).

    ``zt`` is :math:`Z^\top`, ``z_i = y_i x_i``, of shape ``(d, n)``: the margins
    ``w @ zt`` and the gradient ``zt @ r`` then both run along the sample axis,
    which is the contiguous (vector-lane) axis. ``retain``, ``forget`` and
    ``every`` are the normalised weights :math:`v_i/|R|` on R, :math:`v_i/|F|`
    on F and :math:`v_i/|D|` (zeros for an empty set, as in the objectives).
    """

    zt: jax.Array
    retain: jax.Array
    forget: jax.Array
    every: jax.Array


def _prepare_linear(data: Dataset) -> _LinearBatch:
    if isinstance(data, _LinearBatch):
        return data
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be an ascentjax.Dataset, got {type(data).__name__}")
    z = data.y[..., :, None] * data.x
    return _LinearBatch(jnp.swapaxes(z, -1, -2), *set_weights(data))


def _linear_objective(
    coefficients: Callable[[_LinearBatch], jax.Array], lam: ArrayLike, loss: LossLike
) -> Callable[[Params, _LinearBatch], jax.Array]:
    """``sum_i c_i l(m_i) + lam/2 |w|^2`` on a :class:`_LinearBatch` (same value as the
    :class:`Dataset` objectives, with ``c`` from ``coefficients(batch)``)."""
    loss_fn = get_loss(loss)

    def objective(w: Params, batch: _LinearBatch) -> jax.Array:
        w = jnp.asarray(w)
        check_params_shape(w, batch.zt.shape[-2])
        m = w @ batch.zt
        return jnp.sum(coefficients(batch) * loss_fn(m)) + ridge(w, lam)

    return objective


def _retain_coef(b: _LinearBatch) -> jax.Array:
    return b.retain


def _every_coef(b: _LinearBatch) -> jax.Array:
    return b.every


def _da_coef(b: _LinearBatch) -> jax.Array:
    # one signed weighted sum: a single pass over the data forward and backward
    return b.retain - b.forget


def _ascent_coef(b: _LinearBatch) -> jax.Array:
    return -b.forget


def _check_common(lam: ArrayLike, loss: LossLike) -> None:
    check_nonnegative("lam", lam)
    get_loss(loss)


def _coefficient_rule(
    coefficients: Callable[[_LinearBatch], jax.Array],
    learning_rate: ArrayLike | None,
    lam: ArrayLike,
    loss: LossLike,
    optimizer: optax.GradientTransformation | None,
) -> UnlearningRule:
    """The built-in one-objective rules: descent on ``_linear_objective(coefficients)``."""
    _check_common(lam, loss)
    objective = _linear_objective(coefficients, lam, loss)
    # descent_rule on the prepared objective; a Dataset given to step directly is
    # prepared there (a no-op on an already prepared batch)
    rule = descent_rule(
        lambda w, data: objective(w, _prepare_linear(data)),
        optimizer=_optimizer(learning_rate, optimizer),
    )
    return rule._replace(prepare=_prepare_linear)


def _optimizer(
    learning_rate: ArrayLike | None,
    optimizer: optax.GradientTransformation | None,
    name: str = "learning_rate",
) -> optax.GradientTransformation:
    if optimizer is None:
        if learning_rate is None:
            raise ValueError(f"{name} is required when no optimizer is given")
        if not callable(learning_rate):
            check_positive(name, learning_rate)
        return optax.sgd(learning_rate)
    if learning_rate is not None:
        raise ValueError(f"pass either {name} or optimizer, not both")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(
            f"optimizer must be an optax GradientTransformation, got {type(optimizer).__name__}"
        )
    return optimizer


def _descend(
    opt: optax.GradientTransformation,
    objective: Callable[[Params, Any], jax.Array],
    params: Params,
    opt_state: Any,
    data: Any,
) -> tuple[Params, Any]:
    grads = jax.grad(objective)(params, data)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def descent_rule(
    objective: Callable[[Params, Dataset], jax.Array],
    learning_rate: ArrayLike | None = None,
    *,
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearningRule:
    r"""Gradient descent on any scalar objective, :math:`\theta \leftarrow \theta - \eta\nabla J`.

    The building block of :func:`retrain`, :func:`pretrain`, :func:`simultaneous_da`
    and :func:`gradient_ascent`, and the shortest way to turn your own objective
    into a rule.

    Args:
        objective: ``objective(params, data) -> scalar`` (any params pytree).
        learning_rate: step size :math:`\eta > 0` (may be traced, or an optax schedule);
            exclusive with ``optimizer``.
        optimizer: any optax ``GradientTransformation`` (default ``optax.sgd(learning_rate)``).

    Returns:
        An :class:`UnlearningRule` whose state is the optimizer state.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 0.0, n_retain=100, n_forget=10)
        >>> rule = aj.descent_rule(
        ...     lambda w, d: aj.retain_objective(w, d, 0.01), optimizer=optax.adam(0.1))
        >>> w = aj.run_rule(rule, jnp.zeros(1), data, steps=200).final
        >>> round(float(w[0]), 2)  # W0(5) = 1.3267
        1.33
    """
    opt = _optimizer(learning_rate, optimizer)

    def init(params: Params) -> State:
        return opt.init(params)

    def step(params: Params, state: State, data: Dataset) -> tuple[Params, State]:
        return _descend(opt, objective, params, state, data)

    return UnlearningRule(init, step)


def retrain(
    learning_rate: ArrayLike | None = None,
    *,
    lam: ArrayLike = 0.0,
    loss: LossLike = "exp",
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearningRule:
    r"""Gradient descent on the retain objective :math:`L_R` (the oracle; also fine-tuning).

    .. math:: w \leftarrow w - \eta\, \nabla L_R(w), \qquad
        L_R(w) = \frac{1}{|R|}\sum_R v_i\,\ell(m_i) + \frac{\lambda}{2}\|w\|^2.

    Started from scratch it computes the oracle; started from a pretrained or
    unlearned model it is retain fine-tuning.

    Args:
        learning_rate: step size :math:`\eta > 0` (may be traced); exclusive with ``optimizer``.
        lam: ridge strength :math:`\lambda \ge 0` (may be traced).
        loss: ``"exp"`` (default), ``"logistic"`` or a callable margin loss.
        optimizer: any optax ``GradientTransformation`` (default ``optax.sgd(learning_rate)``).

    Returns:
        An :class:`UnlearningRule`.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 0.5, n_retain=100, n_forget=10)
        >>> w = aj.run_rule(aj.retrain(1.0, lam=0.01), jnp.zeros(1), data, steps=500).final
        >>> round(float(w[0]), 4)  # W0(|R_j| / (lam |R|)) = W0(5)
        1.3267
    """
    return _coefficient_rule(_retain_coef, learning_rate, lam, loss, optimizer)


def pretrain(
    learning_rate: ArrayLike | None = None,
    *,
    lam: ArrayLike = 0.0,
    loss: LossLike = "exp",
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearningRule:
    r"""Gradient descent on the pretraining objective :math:`L_D` (retain and forget together).

    .. math:: w \leftarrow w - \eta\, \nabla L_D(w), \qquad
        L_D(w) = \frac{1}{|D|}\sum_D v_i\,\ell(m_i) + \frac{\lambda}{2}\|w\|^2.

    Args:
        learning_rate: step size :math:`\eta > 0` (may be traced); exclusive with ``optimizer``.
        lam: ridge strength :math:`\lambda \ge 0` (may be traced).
        loss: ``"exp"`` (default), ``"logistic"`` or a callable margin loss.
        optimizer: any optax ``GradientTransformation`` (default ``optax.sgd(learning_rate)``).

    Returns:
        An :class:`UnlearningRule`.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 1.0, n_retain=100, n_forget=10)
        >>> w = aj.run_rule(aj.pretrain(1.0, lam=0.01), jnp.zeros(1), data, steps=500).final
        >>> round(float(w[0]), 4)  # W0((1 + alpha)|R_j| / (lam |D|)) = W0(100/11)
        1.6853
    """
    return _coefficient_rule(_every_coef, learning_rate, lam, loss, optimizer)


def simultaneous_da(
    learning_rate: ArrayLike | None = None,
    *,
    lam: ArrayLike = 0.0,
    loss: LossLike = "exp",
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearningRule:
    r"""Simultaneous descent-ascent: gradient descent on :math:`L_{DA}` (paper Eq. 1).

    .. math:: w \leftarrow w - \eta\,\nabla L_{DA}(w) = w - \eta\Big(
        \nabla \tfrac{1}{|R|}\textstyle\sum_R v_i\ell(m_i)
        - \nabla \tfrac{1}{|F|}\sum_F v_i\ell(m_i) + \lambda w\Big).

    With the exponential loss and a large forget fraction :math:`L_{DA}` has no
    stationary point and the iterates diverge (case 3 of :doc:`/theory/one_coordinate`);
    :func:`ascentjax.run_rule` flags that before overflow.

    Args:
        learning_rate: step size :math:`\eta > 0` (may be traced); exclusive with ``optimizer``.
        lam: ridge strength :math:`\lambda \ge 0` (may be traced).
        loss: ``"exp"`` (default), ``"logistic"`` or a callable margin loss.
        optimizer: any optax ``GradientTransformation`` (default ``optax.sgd(learning_rate)``).

    Returns:
        An :class:`UnlearningRule`.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 0.05, n_retain=100, n_forget=10)
        >>> rule = aj.simultaneous_da(0.5, lam=0.01)
        >>> w = aj.run_rule(rule, jnp.zeros(1), data, steps=2000).final
        >>> round(float(w[0]), 4)  # W0((1 - alpha|R|/|F|)|R_j|/(lam|R|)) = W0(2.5)
        0.9586
    """
    return _coefficient_rule(_da_coef, learning_rate, lam, loss, optimizer)


def gradient_ascent(
    learning_rate: ArrayLike | None = None,
    *,
    lam: ArrayLike = 0.0,
    loss: LossLike = "exp",
    optimizer: optax.GradientTransformation | None = None,
) -> UnlearningRule:
    r"""Gradient ascent on the forget loss, with the ridge term descended.

    .. math:: w \leftarrow w + \eta\,\nabla \tfrac{1}{|F|}\textstyle\sum_F v_i\ell(m_i)
        - \eta\lambda w.

    Args:
        learning_rate: step size :math:`\eta > 0` (may be traced); exclusive with ``optimizer``.
        lam: ridge strength :math:`\lambda \ge 0` (may be traced).
        loss: ``"exp"`` (default), ``"logistic"`` or a callable margin loss.
        optimizer: any optax ``GradientTransformation`` (default ``optax.sgd(learning_rate)``).

    Returns:
        An :class:`UnlearningRule`.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 1.0, n_retain=100, n_forget=10)
        >>> w = aj.run_rule(aj.gradient_ascent(0.1), jnp.zeros(1), data, steps=1).final
        >>> round(float(w[0]), 6)  # 0 - 0.1 * (|F_j|/|F|) e^0 = -0.05
        -0.05
    """
    return _coefficient_rule(_ascent_coef, learning_rate, lam, loss, optimizer)


def iterative_da(
    learning_rate: ArrayLike | None = None,
    *,
    lam: ArrayLike = 0.0,
    loss: LossLike = "exp",
    optimizer: optax.GradientTransformation | None = None,
    ascent_learning_rate: ArrayLike | None = None,
    ascent_optimizer: optax.GradientTransformation | None = None,
) -> UnlearningRule:
    r"""Iterative (alternating) descent-ascent (paper App. D.3).

    One step is a descent step on the retain objective followed by an ascent
    step on the forget loss; the ridge term is descended in both:

    .. math::

        w' &= w - \eta\,\nabla\Big(\tfrac{1}{|R|}\textstyle\sum_R v_i\ell(m_i)
              + \tfrac{\lambda}{2}\|w\|^2\Big), \\
        w'' &= w' + \eta_a\,\nabla \tfrac{1}{|F|}\textstyle\sum_F v_i\ell(m_i')
              - \eta_a\lambda w'.

    To first order in :math:`\eta` this is gradient descent on :math:`L_{DA}` with
    :math:`\lambda` replaced by :math:`2\lambda`; the :math:`\eta^2` term can create
    spurious fixed points and periodic or chaotic orbits (:doc:`/theory/iterative_da`).
    A different ascent step size :math:`\eta_a` reweights the objective (paper
    App. B).

    Args:
        learning_rate: descent step size :math:`\eta > 0` (may be traced); exclusive with
            ``optimizer``.
        lam: ridge strength :math:`\lambda \ge 0` (may be traced).
        loss: ``"exp"`` (default), ``"logistic"`` or a callable margin loss.
        optimizer: optax ``GradientTransformation`` for the descent step
            (default ``optax.sgd(learning_rate)``).
        ascent_learning_rate: ascent step size :math:`\eta_a` (default: ``learning_rate``).
        ascent_optimizer: optax transformation for the ascent step (default: the
            descent optimizer, with its own separate state).

    Returns:
        An :class:`UnlearningRule` whose state is the pair of optimizer states.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 0.0, n_retain=100, n_forget=10)
        >>> w = aj.run_rule(aj.iterative_da(1.0, lam=0.01), jnp.ones(1), data, steps=1).final
        >>> # descent: 1 - (-0.05 e^{-1} + 0.01); ascent: forget block is empty
        >>> round(float(w[0]), 6) == round((1 + 0.05 * 2.718281828**-1 - 0.01) * 0.99, 6)
        True
    """
    _check_common(lam, loss)
    opt_d = _optimizer(learning_rate, optimizer)
    if ascent_optimizer is None:
        opt_a = (
            opt_d
            if ascent_learning_rate is None
            else _optimizer(ascent_learning_rate, None, "ascent_learning_rate")
        )
    else:
        opt_a = _optimizer(ascent_learning_rate, ascent_optimizer, "ascent_learning_rate")
    descent_obj = _linear_objective(_retain_coef, lam, loss)
    ascent_obj = _linear_objective(_ascent_coef, lam, loss)

    def init(params: Params) -> State:
        return (opt_d.init(params), opt_a.init(params))

    def step(params: Params, state: State, data: Any) -> tuple[Params, State]:
        batch = _prepare_linear(data)
        sd, sa = state
        params, sd = _descend(opt_d, descent_obj, params, sd, batch)
        params, sa = _descend(opt_a, ascent_obj, params, sa, batch)
        return params, (sd, sa)

    return UnlearningRule(init, step, _prepare_linear)
