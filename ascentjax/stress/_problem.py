r"""What an unlearning method sees: :class:`StressProblem`, one model-agnostic pytree.

A method under test never gets a data set or a model class. It gets per-example losses
as functions of the parameters, the retain and forget weights, the ridge strength, the
pretrained parameters (where it starts), a from-scratch initialisation and a PRNG key.
Second-order information is one ``jax.hessian`` of :meth:`StressProblem.retain_objective`
away. The same method object therefore runs on a linear model (the paper's block and
one-coordinate settings, random forget sets) and on the nonconvex toy model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._data import Dataset
from .._losses import get_loss
from .._validation import check_choice, check_nonnegative, is_concrete

__all__ = ["StressProblem", "linear_problem", "toy_problem"]

Params = Any


def _concrete_array(v: Any) -> bool:
    # arrays with values (not tracers, nor the jax.ShapeDtypeStruct placeholders that
    # shape inference puts in a pytree)
    return isinstance(v, (np.ndarray, np.generic, jax.Array)) and is_concrete(v)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class StressProblem:
    r"""One unlearning task as a method sees it (a pytree; batches ``vmap``).

    The objectives are weighted sums over the :math:`n` examples,

    .. math::

        L_R(\theta) = \sum_i c^R_i\,\ell_i(\theta) + \frac{\lambda}{2}\|\theta\|^2,
        \qquad
        L_F(\theta) = \sum_i c^F_i\,\ell_i(\theta),
        \qquad \ell_i(\theta) = \text{loss}(\text{model}(\theta, x)_i, y_i),

    with :math:`c^R` zero outside the retain set and :math:`c^F` zero outside the forget
    set (means, :math:`c_i = 1/|R|` or :math:`1/|F|`, in the linear settings; the toy
    model's unnormalised sums use multiplicities). The oracle is :math:`\arg\min L_R`.

    Attributes:
        x: inputs, shape ``(n, ...)`` (read only by ``model``).
        y: labels in :math:`\{-1, +1\}`, shape ``(n,)``.
        retain_weight: :math:`c^R \ge 0`, shape ``(n,)``.
        forget_weight: :math:`c^F \ge 0`, shape ``(n,)``.
        lam: ridge strength :math:`\lambda \ge 0`.
        params0: the pretrained parameters (every method starts here).
        params_init: a from-scratch initialisation (for retraining).
        key: a PRNG key for methods that need randomness (one per seed in a suite).
        model: ``model(params, x) -> scores`` of shape ``(n,)`` (static).
        loss: ``loss(scores, y) -> per-example losses`` of shape ``(n,)`` (static).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.Block(rho=0.8, alpha=0.05, lam=0.01).data()
        >>> p = aj.stress.linear_problem(data, 0.01, jnp.zeros(2))
        >>> round(float(p.retain_loss(jnp.zeros(2))), 6)  # exp(0) averaged over R
        1.0
        >>> g = jax.grad(p.retain_objective)(jnp.zeros(2))
        >>> bool(jnp.all(g < 0))  # descending on the retain loss raises both weights
        True
    """

    x: jax.Array
    y: jax.Array
    retain_weight: jax.Array
    forget_weight: jax.Array
    lam: ArrayLike
    params0: Params
    params_init: Params
    key: jax.Array
    model: Callable[[Params, jax.Array], jax.Array] = dataclasses.field(metadata={"static": True})
    loss: Callable[[jax.Array, jax.Array], jax.Array] = dataclasses.field(metadata={"static": True})

    def __post_init__(self) -> None:
        for name in ("model", "loss"):
            if not callable(getattr(self, name)):
                raise TypeError(
                    f"{name} must be a callable, got {type(getattr(self, name)).__name__}"
                )
        fields = {k: getattr(self, k) for k in ("x", "y", "retain_weight", "forget_weight")}
        for name, v in fields.items():
            if isinstance(v, (str, bytes)):
                raise TypeError(f"{name} must be an array, got {type(v).__name__}")
        if not all(_concrete_array(v) for v in fields.values()):
            return  # placeholders jax puts in a pytree, or tracers
        # leading batch axes allowed (a stacked batch of problems): y's shape leads x's
        y_shape = tuple(self.y.shape)
        if self.y.ndim < 1 or tuple(self.x.shape[: len(y_shape)]) != y_shape:
            raise ValueError(
                f"y must have one entry per row of x (shape {tuple(self.x.shape)}), "
                f"got shape {y_shape}"
            )
        for name in ("retain_weight", "forget_weight"):
            if tuple(fields[name].shape) != y_shape:
                raise ValueError(
                    f"{name} must have the shape of y, {y_shape}, got {tuple(fields[name].shape)}"
                )
        for name in ("retain_weight", "forget_weight"):
            check_nonnegative(name, np.asarray(fields[name]))
        if isinstance(self.lam, (int, float)) or _concrete_array(self.lam):
            check_nonnegative("lam", self.lam)

    # -- what a method reads -------------------------------------------------------
    def scores(self, params: Params) -> jax.Array:
        """The model's real-valued outputs on every example, shape ``(n,)``."""
        return self.model(params, self.x)

    def losses(self, params: Params) -> jax.Array:
        r"""Per-example losses :math:`\ell_i(\theta)`, shape ``(n,)``."""
        return self.loss(self.scores(params), self.y)

    def retain_loss(self, params: Params) -> jax.Array:
        r""":math:`\sum_i c^R_i \ell_i(\theta)` (no ridge)."""
        return jnp.sum(self.retain_weight * self.losses(params))

    def forget_loss(self, params: Params) -> jax.Array:
        r""":math:`L_F(\theta) = \sum_i c^F_i \ell_i(\theta)`."""
        return jnp.sum(self.forget_weight * self.losses(params))

    def ridge(self, params: Params) -> jax.Array:
        r""":math:`\frac{\lambda}{2}\|\theta\|^2` over every leaf of ``params``."""
        sq = sum(jnp.sum(jnp.square(p)) for p in jax.tree_util.tree_leaves(params))
        return 0.5 * self.lam * sq

    def retain_objective(self, params: Params) -> jax.Array:
        r""":math:`L_R(\theta)`, the objective the oracle minimises."""
        return self.retain_loss(params) + self.ridge(params)

    def correct(self, params: Params) -> jax.Array:
        r"""Whether each example is classified right, :math:`y_i\,\text{score}_i > 0`."""
        return self.y * self.scores(params) > 0


# ----------------------------------------------------------------------------- builders
def _linear_model(w: jax.Array, x: jax.Array) -> jax.Array:
    return x @ w


def _exp_margin(s: jax.Array, y: jax.Array) -> jax.Array:
    return get_loss("exp")(y * s)


def _logistic_margin(s: jax.Array, y: jax.Array) -> jax.Array:
    return get_loss("logistic")(y * s)


_MARGIN_LOSSES = {"exp": _exp_margin, "logistic": _logistic_margin}


def _norm(w: jax.Array) -> jax.Array:
    total = jnp.sum(w)
    return w / jnp.where(total > 0, total, 1)


def linear_problem(
    data: Dataset,
    lam: ArrayLike,
    params0: ArrayLike,
    *,
    loss: str = "exp",
    key: jax.Array | None = None,
) -> StressProblem:
    r"""The problem of a linear classifier :math:`\text{score} = \theta^\top x` on a data set.

    Retain and forget weights are the data set's weights normalised to means,
    :math:`c^R_i = v_i/|R|` and :math:`c^F_i = v_i/|F|`, so :math:`L_R` is the library's
    :func:`ascentjax.retain_objective` and the oracle is :func:`ascentjax.train_oracle`.

    Args:
        data: an :class:`ascentjax.Dataset` (its ``forget`` mask splits R and F).
        lam: ridge strength :math:`\lambda \ge 0` (may be traced).
        params0: the pretrained weights, shape ``(d,)``.
        loss: ``"exp"`` or ``"logistic"`` margin loss.
        key: PRNG key for stochastic methods (default ``jax.random.key(0)``).

    Returns:
        A :class:`StressProblem` (from-scratch initialisation: zeros).

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> data = aj.OneCoordinate(alpha=0.5, lam=0.01).data()
        >>> p = aj.stress.linear_problem(data, 0.01, jnp.ones(1), loss="logistic")
        >>> p.x.shape, p.params_init.tolist()
        ((102, 1), [0.0])
    """
    check_choice("loss", loss, tuple(_MARGIN_LOSSES))
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be an ascentjax.Dataset, got {type(data).__name__}")
    params0 = jnp.asarray(params0)
    if params0.shape != data.x.shape[-1:]:
        raise ValueError(
            f"params0 must have shape ({data.x.shape[-1]},) to match data.x, "
            f"got {tuple(params0.shape)}"
        )
    return StressProblem(
        x=data.x,
        y=data.y,
        retain_weight=_norm(jnp.where(data.forget, 0, data.weight)),
        forget_weight=_norm(jnp.where(data.forget, data.weight, 0)),
        lam=lam,
        params0=params0,
        params_init=jnp.zeros_like(params0),
        key=jax.random.key(0) if key is None else key,
        model=_linear_model,
        loss=_MARGIN_LOSSES[loss],
    )


def _toy_model(theta: jax.Array, x: jax.Array) -> jax.Array:
    return jnp.tanh(x @ theta)


def _squared(s: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.square(s - y)


def toy_problem(
    params0: ArrayLike,
    *,
    forget: int = 2,
    lam: float = 0.1,
    key: jax.Array | None = None,
    params_init: ArrayLike | None = None,
) -> StressProblem:
    r"""The paper's nonconvex toy model as a problem: :math:`h_\theta(x) = \tanh(a x + b x^2)`.

    Inputs :math:`x \in \{-1, 1, 3, 4\}`, labels :math:`(-1, +1, -1, +1)`, multiplicities
    :math:`(5, 4, 1, 4)`; ``forget`` of the four copies at :math:`x = 4` are forgotten
    (a fifth row holds them). Squared loss, unnormalised sums, so
    :math:`L_R = \sum_R m_i (h_\theta(x_i) - y_i)^2 + \lambda_{\text{toy}}\|\theta\|^2` is
    :func:`ascentjax.toy.loss` with the retain weights (the problem's ``lam`` is
    :math:`2\lambda_{\text{toy}}` in the :math:`\frac{\lambda}{2}\|\theta\|^2` convention).

    Args:
        params0: the pretrained :math:`\theta = (a, b)` (e.g. the pretrained objective's
            global minimum from :func:`ascentjax.toy.find_minima`).
        forget: copies of :math:`x = 4` to forget, an int in ``[1, 4]``.
        lam: the toy's ridge :math:`\lambda_{\text{toy}} > 0`.
        key: PRNG key for stochastic methods (default ``jax.random.key(0)``).
        params_init: from-scratch initialisation (default ``(0.5, 0)``).

    Returns:
        A :class:`StressProblem` with five rows.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> p = aj.stress.toy_problem(jnp.array([1.35, -0.25]))
        >>> p.retain_weight.tolist(), p.forget_weight.tolist()
        ([5.0, 4.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0, 2.0])
    """
    if isinstance(forget, bool) or not isinstance(forget, (int, np.integer)):
        raise TypeError(f"forget must be an int in [1, 4], got {forget!r}")
    if not 1 <= forget <= 4:
        raise ValueError(f"forget must be in [1, 4], got {forget}")
    if not lam > 0:
        raise ValueError(f"lam must be > 0, got {lam}")
    params0 = jnp.asarray(params0)
    if params0.shape != (2,):
        raise ValueError(f"params0 must have shape (2,), got {tuple(params0.shape)}")
    dt = params0.dtype
    inputs = jnp.array([-1.0, 1.0, 3.0, 4.0, 4.0], dt)
    x = jnp.stack([inputs, inputs**2], axis=-1)
    y = jnp.array([-1.0, 1.0, -1.0, 1.0, 1.0], dt)
    retain = jnp.array([5.0, 4.0, 1.0, 4.0 - forget, 0.0], dt)
    fweight = jnp.array([0.0, 0.0, 0.0, 0.0, float(forget)], dt)
    init = jnp.array([0.5, 0.0], dt) if params_init is None else jnp.asarray(params_init, dt)
    return StressProblem(
        x=x,
        y=y,
        retain_weight=retain,
        forget_weight=fweight,
        lam=2.0 * lam,
        params0=params0,
        params_init=init,
        key=jax.random.key(0) if key is None else key,
        model=_toy_model,
        loss=_squared,
    )
