r"""The trajectory engine: run an :class:`~ascentjax.UnlearningRule` for many steps.

:func:`run_rule` is a nested ``lax.scan`` (``steps // stride`` outer iterations of
``stride`` inner steps) that records ``observe(params)`` once per outer iteration,
so memory is :math:`O(\text{steps}/\text{stride})` whatever the number of steps.
It detects divergence *before* overflow: a step whose result is non-finite or
exceeds ``bound`` in magnitude is rejected, the state is frozen at the last
accepted iterate, and the flag and step index are recorded, so no ``inf``/``NaN``
ever leaks into the results of a sweep.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from ._data import Dataset
from ._rules import UnlearningRule
from ._validation import check_positive

__all__ = ["Trajectory", "run_rule"]

Params = Any


class Trajectory(NamedTuple):
    r"""Result of :func:`run_rule` (a pytree: it batches under ``vmap`` and ``sweep``).

    Fields:

    * ``final``: parameters after the run (the last accepted iterate when diverged).
    * ``observed``: ``observe(params)`` after ``stride, 2 stride, ..., steps`` steps,
      stacked along a new leading axis of length ``steps // stride``.
    * ``diverged``: boolean scalar, ``True`` if some step was rejected.
    * ``diverged_at``: int32 scalar, the 0-based index of the first rejected step
      (so ``final`` is the iterate after ``diverged_at`` steps); ``-1`` if
      the run did not diverge.
    * ``state``: the rule's final state.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.one_coordinate_data(None, 5, 0.5, n_retain=100, n_forget=10)
        >>> traj = aj.run_rule(aj.retrain(1.0, lam=0.01), jnp.zeros(1), data,
        ...                    steps=100, stride=10)
        >>> traj.observed.shape, bool(traj.diverged), int(traj.diverged_at)
        ((10, 1), False, -1)
    """

    final: Params
    observed: Any
    diverged: jax.Array
    diverged_at: jax.Array
    state: Any


def _tree_ok(tree: Params, bound: ArrayLike) -> jax.Array:
    ok = jnp.array(True)
    for leaf in jax.tree_util.tree_leaves(tree):
        leaf = jnp.asarray(leaf)
        if jnp.issubdtype(leaf.dtype, jnp.inexact):
            ok = ok & jnp.all(jnp.isfinite(leaf)) & jnp.all(jnp.abs(leaf) <= bound)
    return ok


def _select(pred: jax.Array, a: Params, b: Params) -> Params:
    return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def run_rule(
    rule: UnlearningRule,
    params0: Params,
    data: Dataset,
    *,
    steps: int,
    stride: int = 1,
    observe: Callable[[Params], Any] | None = None,
    bound: ArrayLike = 1e6,
    unroll: int = 1,
) -> Trajectory:
    r"""Run ``rule`` for ``steps`` steps from ``params0`` on ``data``, recording every ``stride``.

    The loop is ``lax.scan`` over ``steps // stride`` blocks of a ``lax.scan`` over
    ``stride`` steps; after each block ``observe(params)`` is recorded. A step is
    *rejected* when any floating leaf of the new params is non-finite or has
    :math:`|\theta| >` ``bound``; from the first rejected step on, params and state
    stay frozen at the last accepted iterate and ``diverged`` is set. The default
    ``bound = 1e6`` flags the exponential-loss divergence of descent-ascent (case 3
    of :doc:`/theory/one_coordinate`) well before ``exp`` overflows: with step sizes of
    order one, a margin that falls to about :math:`-\ln 10^6 \approx -14` is thrown past
    the bound by the next step, and a step that would overflow is rejected anyway.

    Pure and traceable: call it inside ``jit``, ``vmap`` or :func:`ascentjax.sweep`
    (``steps``, ``stride``, ``observe`` and ``unroll`` are static; ``bound`` may be
    traced). Sweeps default to float32 (the dtype of ``params0`` and ``data``);
    pass float64 inputs for theory checks.

    Args:
        rule: an :class:`ascentjax.UnlearningRule`.
        params0: initial parameters (any pytree; ``(d,)`` for the built-in rules).
        data: the :class:`ascentjax.Dataset` passed to every step (through
            ``rule.prepare`` once, when the rule has one).
        steps: number of steps, a static int >= 1, divisible by ``stride``.
        stride: record every ``stride`` steps (static int >= 1).
        observe: ``observe(params) -> pytree`` recorded every ``stride`` steps
            (default: the params themselves).
        bound: divergence threshold on the magnitude of every parameter entry (> 0).
        unroll: ``unroll`` of the inner scan (a performance knob).

    Returns:
        A :class:`Trajectory`.

    Raises:
        ValueError: if ``steps``/``stride`` are not positive ints, ``steps`` is not
            a multiple of ``stride``, or ``bound`` is not positive.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> # alpha far beyond |F|/|R|: L_DA has no stationary point, DA diverges
        >>> data = aj.one_coordinate_data(None, 5, 1.0, n_retain=100, n_forget=10)
        >>> traj = aj.run_rule(aj.simultaneous_da(0.5, lam=0.01), jnp.zeros(1), data,
        ...                    steps=200)
        >>> bool(traj.diverged), bool(jnp.all(jnp.isfinite(traj.observed)))
        (True, True)
    """
    checked = []
    for name, value in (("steps", steps), ("stride", stride), ("unroll", unroll)):
        try:
            if isinstance(value, bool):
                raise TypeError
            value = operator.index(value)
        except TypeError:
            raise ValueError(f"{name} must be a static Python int >= 1, got {value!r}") from None
        if value < 1:
            raise ValueError(f"{name} must be a static Python int >= 1, got {value!r}")
        checked.append(value)
    steps, stride, unroll = checked
    if steps % stride:
        raise ValueError(f"stride must divide steps, got steps={steps}, stride={stride}")
    check_positive("bound", bound)
    if not (hasattr(rule, "init") and hasattr(rule, "step")):
        raise TypeError(f"rule must be an UnlearningRule, got {type(rule).__name__}")
    observe_fn = (lambda p: p) if observe is None else observe

    params0 = jax.tree_util.tree_map(jnp.asarray, params0)
    state0 = rule.init(params0)
    prepare = getattr(rule, "prepare", None)
    # loop-invariant work on the data (e.g. a transposed copy) happens once, here
    data = data if prepare is None else prepare(data)

    def inner(carry: tuple, t: jax.Array) -> tuple[tuple, None]:
        params, state, diverged, diverged_at = carry
        new_params, new_state = rule.step(params, state, data)
        ok = _tree_ok(new_params, bound) & jnp.logical_not(diverged)
        params = _select(ok, new_params, params)
        state = _select(ok, new_state, state)
        newly = jnp.logical_not(ok) & jnp.logical_not(diverged)
        diverged_at = jnp.where(newly, t, diverged_at)
        return (params, state, diverged | newly, diverged_at), None

    def outer(carry: tuple, k: jax.Array) -> tuple[tuple, Any]:
        ts = k * stride + jnp.arange(stride, dtype=jnp.int32)
        carry, _ = jax.lax.scan(inner, carry, ts, unroll=unroll)
        return carry, observe_fn(carry[0])

    carry0 = (params0, state0, jnp.array(False), jnp.array(-1, jnp.int32))
    (final, state, diverged, diverged_at), observed = jax.lax.scan(
        outer, carry0, jnp.arange(steps // stride, dtype=jnp.int32)
    )
    return Trajectory(
        final=final, observed=observed, diverged=diverged, diverged_at=diverged_at, state=state
    )
