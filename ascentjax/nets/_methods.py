r"""Unlearning methods for network ensembles, as rules.

A network unlearning method is an :class:`ascentjax.UnlearningRule`, the same pair of
pure functions as the linear methods: ``init(params) -> state`` for one model and
``step(params, state, data) -> (params, state)`` for one *epoch* of that model, where
``data`` is an :class:`EpochData` (the flax model, the training arrays, this epoch's
forget and retain minibatches and the epoch index). :func:`unlearn_ensemble` runs a rule
on every model of an ensemble at once (``vmap`` over the models, ``lax.scan`` over the
epochs) and returns the parameters after every epoch, so the epochs axis of a
hyperparameter grid costs one run.

The built-in factories (:func:`gradient_ascent`, :func:`gradient_descent_ascent`,
:func:`scrub`, :func:`fine_tune`, :func:`npo`, :func:`noisy_descent`, :func:`salun`,
:func:`l1_sparse`) take the step size first, like the linear ones, and keep their
hyperparameters as the arguments of :class:`jax.tree_util.Partial` functions, so a rule
is a pytree of its hyperparameters: a grid of step sizes reuses one compiled program and
``vmap`` can map over them. A rule written with plain closures runs as well (it is then
compiled once per rule object).
"""

from __future__ import annotations

import functools
import numbers
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.tree_util import Partial
from jaxtyping import Array, ArrayLike, Float, Int

from .._rules import UnlearningRule
from .._validation import check_count, check_nonnegative, check_positive, check_range

__all__ = [
    "EpochData",
    "fine_tune",
    "gradient_ascent",
    "gradient_descent_ascent",
    "l1_sparse",
    "noisy_descent",
    "npo",
    "saliency_mask",
    "salun",
    "scrub",
    "unlearn_ensemble",
]


class EpochData(NamedTuple):
    """What the ``step`` of a network unlearning rule sees in one epoch (one model).

    Attributes:
        model: the flax classifier (``model.apply(params, x)`` gives logits).
        x: ``(n, ...)`` training inputs.
        y: ``(n,)`` integer labels.
        forget: ``(steps_F, b_F)`` indices into ``x``: this epoch's pass over the forget
            set in minibatches of ``b_F = min(batch_size, |F|)`` (a fresh random order
            per epoch and model, the remainder dropped).
        retain: ``(steps_R, b_R)`` indices: ``descent_steps`` random retain minibatches
            of ``b_R = min(batch_size, |R|)`` examples (distinct within a batch).
        epoch: the 0-based epoch index (a traced integer).
        epochs: the number of epochs of the run (a Python int).
        key: a PRNG key of its own for this epoch and model (for noisy rules).
    """

    model: nn.Module
    x: Float[Array, "n ..."]
    y: Int[Array, " n"]
    forget: Int[Array, "steps_f batch_f"]
    retain: Int[Array, "steps_r batch_r"]
    epoch: Int[Array, ""]
    epochs: int
    key: Array | None = None


def _ce(model: nn.Module, p: Any, xb: Array, yb: Array) -> Array:
    return optax.softmax_cross_entropy_with_integer_labels(model.apply(p, xb), yb).mean()


def _distill_kl(model: nn.Module, p: Any, pt: Any, xb: Array, temp: Array) -> Array:
    """SCRUB's DistillKL: :math:`T^2\\,\\mathrm{KL}(p_t^{(T)}\\|p_s^{(T)})`, batch mean."""
    ls = jax.nn.log_softmax(model.apply(p, xb) / temp)
    lt = jax.nn.log_softmax(model.apply(pt, xb) / temp)
    return temp**2 * jnp.mean(jnp.sum(jnp.exp(lt) * (lt - ls), axis=-1))


def _sgd_pass(p: Any, batches: Array, loss: Any, lr: Array) -> Any:
    """Plain SGD on ``loss(params, idx)`` over the rows of ``batches`` (one scan)."""

    def one(q: Any, idx: Array) -> tuple[Any, None]:
        g = jax.grad(loss)(q, idx)
        return jax.tree_util.tree_map(lambda w, d: w - lr * d, q, g), None

    return jax.lax.scan(one, p, batches)[0]


def _no_state(hyper: Any, params: Any) -> tuple[()]:
    return ()


def _ascent(p: Any, d: EpochData, lr: Array) -> Any:
    return _sgd_pass(p, d.forget, lambda q, i: -_ce(d.model, q, d.x[i], d.y[i]), lr)


def _descent(p: Any, d: EpochData, lr: Array) -> Any:
    return _sgd_pass(p, d.retain, lambda q, i: _ce(d.model, q, d.x[i], d.y[i]), lr)


def _ga_step(hyper: Any, p: Any, state: Any, d: EpochData) -> tuple[Any, Any]:
    return _ascent(p, d, hyper["learning_rate"]), state


def _gda_step(hyper: Any, p: Any, state: Any, d: EpochData) -> tuple[Any, Any]:
    lr = hyper["learning_rate"]
    return _descent(_ascent(p, d, lr * hyper["ascent_scale"]), d, lr), state


def _scrub_init(hyper: Any, params: Any) -> Any:
    return params  # the frozen teacher: the model before unlearning


def _scrub_step(hyper: Any, p: Any, teacher: Any, d: EpochData) -> tuple[Any, Any]:
    lr, temp = hyper["learning_rate"], hyper["temperature"]
    alpha, gamma = hyper["alpha"], hyper["gamma"]
    max_epochs = (d.epochs + 1) // 2 if hyper["max_epochs"] is None else hyper["max_epochs"]
    on = (d.epoch < max_epochs).astype(lr.dtype)

    def max_loss(q: Any, i: Array) -> Array:
        return -_distill_kl(d.model, q, teacher, d.x[i], temp)

    def min_loss(q: Any, i: Array) -> Array:
        xb, yb = d.x[i], d.y[i]
        return alpha * _distill_kl(d.model, q, teacher, xb, temp) + gamma * _ce(d.model, q, xb, yb)

    p = _sgd_pass(p, d.forget, max_loss, lr * on)
    return _sgd_pass(p, d.retain, min_loss, lr), teacher


def gradient_ascent(learning_rate: float | ArrayLike) -> UnlearningRule:
    r"""Gradient ascent (GA) on the forget set, as a network unlearning rule.

    One epoch is one pass over the forget set :math:`F` in minibatches, each step
    :math:`\theta \leftarrow \theta + \eta\,\nabla\ell_F(\theta)` with :math:`\ell` the
    mean cross-entropy of the batch. The retain set is not used.

    Args:
        learning_rate: the step size :math:`\eta > 0` (may be traced).

    Returns:
        An :class:`ascentjax.UnlearningRule` for :func:`unlearn_ensemble`.

    Example:
        >>> from ascentjax import nets
        >>> rule = nets.gradient_ascent(0.1)
        >>> rule.init({"w": 1.0})
        ()
    """
    check_positive("learning_rate", learning_rate)
    hyper = dict(learning_rate=learning_rate)
    return UnlearningRule(init=Partial(_no_state, hyper), step=Partial(_ga_step, hyper))


def gradient_descent_ascent(
    learning_rate: float | ArrayLike, *, ascent_scale: float | ArrayLike = 1.0
) -> UnlearningRule:
    r"""Gradient descent/ascent (GDA, the paper's network method), as a rule.

    One epoch is the ascent pass of :func:`gradient_ascent` with step
    :math:`r\eta` (:math:`r` = ``ascent_scale``, the ascent/descent mix), then the
    epoch's retain minibatches (``descent_steps`` of :func:`unlearn_ensemble`), each a
    descent step :math:`\theta \leftarrow \theta - \eta\,\nabla\ell_R(\theta)`.

    Args:
        learning_rate: the descent step size :math:`\eta > 0` (may be traced).
        ascent_scale: :math:`r \ge 0`, the ascent step relative to :math:`\eta`.

    Returns:
        An :class:`ascentjax.UnlearningRule` for :func:`unlearn_ensemble`.

    Example:
        >>> from ascentjax import nets
        >>> rule = nets.gradient_descent_ascent(0.1, ascent_scale=0.5)
        >>> rule.init({"w": 1.0})
        ()
    """
    check_positive("learning_rate", learning_rate)
    check_nonnegative("ascent_scale", ascent_scale)
    hyper = dict(learning_rate=learning_rate, ascent_scale=ascent_scale)
    return UnlearningRule(init=Partial(_no_state, hyper), step=Partial(_gda_step, hyper))


def scrub(
    learning_rate: float | ArrayLike,
    *,
    max_epochs: int | None = None,
    temperature: float | ArrayLike = 4.0,
    alpha: float | ArrayLike = 1.0,
    gamma: float | ArrayLike = 1.0,
) -> UnlearningRule:
    r"""SCRUB (Kurmanji et al., 2023, "Towards Unbounded Machine Unlearning"), as a rule.

    The student starts at the original model, which stays the frozen teacher
    :math:`\theta_0` (the rule's state). An epoch is a *max-step* pass over :math:`F`
    ascending :math:`T^2\,\mathrm{KL}(p_{\theta_0}^{(T)}\,\|\,p_\theta^{(T)})`
    (temperature-:math:`T` softmaxes, their ``DistillKL``), during the first
    ``max_epochs`` epochs only, then *min-steps* on the epoch's retain minibatches
    descending :math:`\alpha\,T^2\mathrm{KL}(p_{\theta_0}^{(T)}\|p_\theta^{(T)}) +
    \gamma\,\ell_R`. Simplifications (documented on the theory page): plain SGD instead
    of their SGD with momentum and weight decay, one step size for both phases.

    Args:
        learning_rate: the step size :math:`\eta > 0` of both phases (may be traced).
        max_epochs: epochs with max-steps; default ``ceil(E / 2)`` of the run's ``E``.
        temperature: the distillation temperature :math:`T > 0`.
        alpha, gamma: the min-step weights :math:`\alpha, \gamma \ge 0`.

    Returns:
        An :class:`ascentjax.UnlearningRule` for :func:`unlearn_ensemble`.

    Example:
        >>> from ascentjax import nets
        >>> rule = nets.scrub(0.1, max_epochs=2)
        >>> rule.init({"w": 1.0})   # the teacher
        {'w': 1.0}
    """
    check_positive("learning_rate", learning_rate)
    if max_epochs is not None:
        check_count("max_epochs", max_epochs, minimum=0)
    check_positive("temperature", temperature)
    check_nonnegative("alpha", alpha)
    check_nonnegative("gamma", gamma)
    hyper = dict(
        learning_rate=learning_rate,
        max_epochs=max_epochs,
        temperature=temperature,
        alpha=alpha,
        gamma=gamma,
    )
    return UnlearningRule(init=Partial(_scrub_init, hyper), step=Partial(_scrub_step, hyper))


# ----------------------------------------------------------------------------- more methods
def _log_p(model: nn.Module, p: Any, xb: Array, yb: Array) -> Array:
    """Per-example log-probability of the label, :math:`\\log \\pi_\\theta(y|x)`."""
    lp = jax.nn.log_softmax(model.apply(p, xb))
    return jnp.take_along_axis(lp, yb[:, None], axis=-1)[:, 0]


def _masked_pass(p: Any, batches: Array, loss: Any, lr: Array, mask: Any) -> Any:
    """SGD on ``loss`` over the rows of ``batches``, each step multiplied by ``mask``."""

    def one(q: Any, idx: Array) -> tuple[Any, None]:
        g = jax.grad(loss)(q, idx)
        return jax.tree_util.tree_map(lambda w, d, m: w - lr * m * d, q, g, mask), None

    return jax.lax.scan(one, p, batches)[0]


def _ft_step(hyper: Any, p: Any, state: Any, d: EpochData) -> tuple[Any, Any]:
    return _descent(p, d, hyper["learning_rate"]), state


def _npo_init(hyper: Any, params: Any) -> Any:
    return params  # the reference model pi_ref: the model before unlearning


def _npo_step(hyper: Any, p: Any, ref: Any, d: EpochData) -> tuple[Any, Any]:
    lr, beta = hyper["learning_rate"], hyper["beta"]

    def loss(q: Any, i: Array) -> Array:
        xb, yb = d.x[i], d.y[i]
        ratio = _log_p(d.model, q, xb, yb) - _log_p(d.model, ref, xb, yb)
        return 2.0 / beta * jnp.mean(jax.nn.softplus(beta * ratio))

    p = _sgd_pass(p, d.forget, loss, lr)
    return _descent(p, d, lr * hyper["retain_scale"]), ref


def _noisy_step(hyper: Any, p: Any, state: Any, d: EpochData) -> tuple[Any, Any]:
    lr, sigma = hyper["learning_rate"], hyper["noise"]
    keys = jax.random.split(d.key, d.retain.shape[0])
    leaves, tdef = jax.tree_util.tree_flatten(p)

    def one(q: Any, inp: tuple[Array, Array]) -> tuple[Any, None]:
        idx, k = inp
        g = jax.grad(lambda w: _ce(d.model, w, d.x[idx], d.y[idx]))(q)
        ks = jax.tree_util.tree_unflatten(tdef, list(jax.random.split(k, len(leaves))))
        scale = jnp.sqrt(2.0 * lr) * sigma

        def upd(w: Array, gw: Array, kw: Array) -> Array:
            return w - lr * gw + scale * jax.random.normal(kw, w.shape, w.dtype)

        return jax.tree_util.tree_map(upd, q, g, ks), None

    return jax.lax.scan(one, p, (d.retain, keys))[0], state


def _salun_init(hyper: Any, params: Any) -> Any:
    ones = jax.tree_util.tree_map(jnp.ones_like, params)
    return params, ones  # (the original model, the saliency mask set in epoch 0)


def saliency_mask(grads: Any, fraction: float | ArrayLike) -> Any:
    r"""SalUn's weight-saliency mask: 1 on the ``fraction`` of weights with largest gradient.

    .. math::

        m_j = \mathbb{1}\!\left[\operatorname{rank}(|g_j|) < \rho\, D\right],

    ranks counted from the largest :math:`|g_j|` over *all* :math:`D` weights of the
    model (one global threshold, as in SalUn), ties broken by position.

    Args:
        grads: a pytree of gradients (one model).
        fraction: :math:`\rho \in (0, 1]`, the share of weights kept (may be traced).

    Returns:
        A pytree like ``grads`` of 0/1 masks in its dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> saliency_mask({"w": jnp.array([0.1, -3.0, 2.0, 0.0])}, 0.5)
        {'w': Array([0., 1., 1., 0.], dtype=float32)}
    """
    leaves, tdef = jax.tree_util.tree_flatten(grads)
    flat = jnp.concatenate([jnp.abs(g).ravel() for g in leaves])
    rank = jnp.argsort(jnp.argsort(-flat, stable=True), stable=True)
    keep = (rank < fraction * flat.size).astype(flat.dtype)
    out, start = [], 0
    for g in leaves:
        out.append(keep[start : start + g.size].reshape(g.shape).astype(g.dtype))
        start += g.size
    return jax.tree_util.tree_unflatten(tdef, out)


def _salun_step(hyper: Any, p: Any, state: Any, d: EpochData) -> tuple[Any, Any]:
    lr = hyper["learning_rate"]
    theta0, mask = state
    every = d.forget.reshape(-1)
    g0 = jax.grad(lambda w: _ce(d.model, w, d.x[every], d.y[every]))(theta0)
    new = saliency_mask(g0, hyper["saliency"])
    mask = jax.tree_util.tree_map(lambda a, b: jnp.where(d.epoch == 0, a, b), new, mask)
    p = _masked_pass(p, d.forget, lambda q, i: -_ce(d.model, q, d.x[i], d.y[i]), lr, mask)
    scale = lr * hyper["retain_scale"]
    p = _masked_pass(p, d.retain, lambda q, i: _ce(d.model, q, d.x[i], d.y[i]), scale, mask)
    return p, (theta0, mask)


def _l1_step(hyper: Any, p: Any, state: Any, d: EpochData) -> tuple[Any, Any]:
    lr = hyper["learning_rate"]
    gamma = hyper["l1"] * (1.0 - d.epoch / d.epochs)  # linear decay to 0 over the run

    def loss(q: Any, i: Array) -> Array:
        l1 = sum(jnp.sum(jnp.abs(w)) for w in jax.tree_util.tree_leaves(q))
        return _ce(d.model, q, d.x[i], d.y[i]) + gamma * l1

    return _sgd_pass(p, d.retain, loss, lr), state


def fine_tune(learning_rate: float | ArrayLike) -> UnlearningRule:
    r"""Fine-tuning on the retain set (FT), the simplest unlearning baseline, as a rule.

    One epoch is the epoch's retain minibatches (``descent_steps`` of
    :func:`unlearn_ensemble`), each a descent step
    :math:`\theta \leftarrow \theta - \eta\,\nabla\ell_R(\theta)`; the forget set is
    never used, so the model forgets only by catastrophic forgetting (Warnecke et al.,
    2023, "Machine Unlearning of Features and Labels"; the FT baseline of Jia et al.,
    2023, and of SalUn).

    Args:
        learning_rate: the step size :math:`\eta > 0` (may be traced).

    Returns:
        An :class:`ascentjax.UnlearningRule` for :func:`unlearn_ensemble`.

    Example:
        >>> from ascentjax import nets
        >>> nets.fine_tune(0.1).init({"w": 1.0})
        ()
    """
    check_positive("learning_rate", learning_rate)
    hyper = dict(learning_rate=learning_rate)
    return UnlearningRule(init=Partial(_no_state, hyper), step=Partial(_ft_step, hyper))


def npo(
    learning_rate: float | ArrayLike,
    *,
    beta: float | ArrayLike = 0.1,
    retain_scale: float | ArrayLike = 0.0,
) -> UnlearningRule:
    r"""Negative preference optimization (NPO; Zhang et al., 2024, arXiv 2404.05868), as a rule.

    The frozen reference :math:`\pi_{\rm ref}` is the model before unlearning (the rule's
    state). One epoch is a pass over :math:`F` in minibatches descending

    .. math::

        L_{\rm NPO}(\theta) = \frac{2}{\beta}\,\mathbb{E}_F\log\Bigl(1 +
        \Bigl(\frac{\pi_\theta(y|x)}{\pi_{\rm ref}(y|x)}\Bigr)^{\beta}\Bigr),
        \qquad
        \nabla L_{\rm NPO} = \mathbb{E}_F\bigl[W_\theta(x, y)\,\nabla_\theta
        \log\pi_\theta(y|x)\bigr],\quad
        W_\theta = \frac{2\pi_\theta^\beta}{\pi_\theta^\beta + \pi_{\rm ref}^\beta},

    i.e. gradient ascent's gradient :math:`\mathbb{E}_F\nabla\log\pi_\theta` with each
    example weighted by :math:`W_\theta \in (0, 2)`, which is 1 at the start and
    vanishes on examples already forgotten (their paper, Eq. 3 and Sec. 4); as
    :math:`\beta \to 0` NPO is gradient ascent. With ``retain_scale`` :math:`r > 0` the
    epoch ends with the retain minibatches as descent steps of size :math:`r\eta`
    (their NPO+RT).

    Args:
        learning_rate: the step size :math:`\eta > 0` (may be traced).
        beta: the inverse temperature :math:`\beta > 0`.
        retain_scale: :math:`r \ge 0`, the retain step relative to :math:`\eta`.

    Returns:
        An :class:`ascentjax.UnlearningRule` for :func:`unlearn_ensemble`.

    Example:
        >>> from ascentjax import nets
        >>> nets.npo(0.1, beta=0.5).init({"w": 1.0})   # the reference model
        {'w': 1.0}
    """
    check_positive("learning_rate", learning_rate)
    check_positive("beta", beta)
    check_nonnegative("retain_scale", retain_scale)
    hyper = dict(learning_rate=learning_rate, beta=beta, retain_scale=retain_scale)
    return UnlearningRule(init=Partial(_npo_init, hyper), step=Partial(_npo_step, hyper))


def noisy_descent(
    learning_rate: float | ArrayLike, *, noise: float | ArrayLike = 0.01
) -> UnlearningRule:
    r"""Noisy gradient descent on the retain set (Langevin unlearning), as a rule.

    Chien, Wang, Li, "Langevin Unlearning: A New Perspective of Noisy Gradient Descent
    for Machine Unlearning" (NeurIPS 2024): each retain minibatch is a step

    .. math::

        \theta \leftarrow \theta - \eta\,\nabla\ell_R(\theta) + \sqrt{2\eta}\,\sigma\,\xi,
        \qquad \xi \sim \mathcal{N}(0, I),

    the Euler–Maruyama step of the Langevin diffusion whose stationary law is
    :math:`\propto e^{-\ell_R/\sigma^2}`. The paper's projection onto a norm ball is
    left out. With :math:`\sigma = 0` this is :func:`fine_tune` exactly. The noise is
    drawn from :attr:`EpochData.key` (one fresh key per epoch and model).

    Args:
        learning_rate: the step size :math:`\eta > 0` (may be traced).
        noise: the noise level :math:`\sigma \ge 0`.

    Returns:
        An :class:`ascentjax.UnlearningRule` for :func:`unlearn_ensemble`.

    Example:
        >>> from ascentjax import nets
        >>> nets.noisy_descent(0.1, noise=0.01).init({"w": 1.0})
        ()
    """
    check_positive("learning_rate", learning_rate)
    check_nonnegative("noise", noise)
    hyper = dict(learning_rate=learning_rate, noise=noise)
    return UnlearningRule(init=Partial(_no_state, hyper), step=Partial(_noisy_step, hyper))


def salun(
    learning_rate: float | ArrayLike,
    *,
    saliency: float | ArrayLike = 0.5,
    retain_scale: float | ArrayLike = 0.0,
) -> UnlearningRule:
    r"""Saliency-masked gradient ascent (SalUn; Fan et al., ICLR 2024), as a rule.

    "SalUn: Empowering Machine Unlearning via Gradient-based Weight Saliency". In the
    first epoch the mask :math:`m` = :func:`saliency_mask` of the forget-loss gradient
    :math:`\nabla\ell_F(\theta_0)` at the original model (over the forget examples of
    that epoch's pass) keeps the share :math:`\rho` of weights with the largest
    :math:`|\nabla\ell_F|`; it is fixed for the run (the rule's state). Every step then
    updates the salient weights only,

    .. math::

        \theta \leftarrow \theta + \eta\, m \odot \nabla\ell_F(\theta)
        \quad\text{(forget minibatches)},\qquad
        \theta \leftarrow \theta - r\eta\, m \odot \nabla\ell_R(\theta)
        \quad\text{(retain minibatches)},

    so :math:`(1 - m)\odot\theta = (1 - m)\odot\theta_0` throughout (their Eq. 7 with
    gradient ascent as the forgetting step, the GA variant of their Table A3; their
    default :math:`\rho = 0.5`). With ``retain_scale`` :math:`r = 0` (default) the
    retain steps do nothing.

    Args:
        learning_rate: the step size :math:`\eta > 0` (may be traced).
        saliency: :math:`\rho \in (0, 1]`, the share of weights updated.
        retain_scale: :math:`r \ge 0`, the retain step relative to :math:`\eta`.

    Returns:
        An :class:`ascentjax.UnlearningRule` for :func:`unlearn_ensemble`.

    Example:
        >>> from ascentjax import nets
        >>> theta0, mask = nets.salun(0.1).init({"w": 1.0})
        >>> float(mask["w"])
        1.0
    """
    check_positive("learning_rate", learning_rate)
    check_range("saliency", saliency, low=0.0, high=1.0, low_inclusive=False)
    check_nonnegative("retain_scale", retain_scale)
    hyper = dict(learning_rate=learning_rate, saliency=saliency, retain_scale=retain_scale)
    return UnlearningRule(init=Partial(_salun_init, hyper), step=Partial(_salun_step, hyper))


def l1_sparse(learning_rate: float | ArrayLike, *, l1: float | ArrayLike = 1e-4) -> UnlearningRule:
    r"""l1-sparse fine-tuning (Jia et al., NeurIPS 2023), as a rule.

    "Model Sparsity Can Simplify Machine Unlearning": fine-tuning on the retain set with
    an :math:`\ell_1` penalty whose weight decays linearly over the run. Epoch
    :math:`e = 0, \dots, E-1` takes the retain minibatches as (sub)gradient steps on

    .. math::

        \ell_R(\theta) + \gamma_e\,\|\theta\|_1,\qquad
        \gamma_e = \gamma\,\Bigl(1 - \frac{e}{E}\Bigr),

    (their Eq. 4 and linearly decaying schedule), which drives weights toward 0 compared
    with :func:`fine_tune` (the same rule at :math:`\gamma = 0`).

    Args:
        learning_rate: the step size :math:`\eta > 0` (may be traced).
        l1: the initial penalty :math:`\gamma \ge 0`.

    Returns:
        An :class:`ascentjax.UnlearningRule` for :func:`unlearn_ensemble`.

    Example:
        >>> from ascentjax import nets
        >>> nets.l1_sparse(0.1, l1=1e-3).init({"w": 1.0})
        ()
    """
    check_positive("learning_rate", learning_rate)
    check_nonnegative("l1", l1)
    hyper = dict(learning_rate=learning_rate, l1=l1)
    return UnlearningRule(init=Partial(_no_state, hyper), step=Partial(_l1_step, hyper))


def _is_number(v: Any) -> bool:
    return isinstance(v, (jax.Array, np.ndarray, np.generic, numbers.Number)) and not isinstance(
        v, bool
    )


@functools.partial(
    jax.jit, static_argnames=("rule_def", "static", "model", "epochs", "batch_size", "steps")
)
def _unlearn(
    key,
    params,
    x,
    y,
    forget,
    retain,
    dynamic,
    *,
    rule_def,
    static,
    model,
    epochs,
    batch_size,
    steps,
):
    leaves = [s if d is None else d for d, s in zip(dynamic, static, strict=True)]
    rule = jax.tree_util.tree_unflatten(rule_def, leaves)
    nf, nr = forget.shape[0], retain.shape[0]
    bf, br = min(batch_size, nf), min(batch_size, nr)
    f_steps = nf // bf

    def one(k: Array, p0: Any) -> Any:
        def epoch(carry: tuple[Any, Any], inp: tuple[Array, Array]) -> tuple[Any, Any]:
            p, state = carry
            ke, e = inp
            kf, kr = jax.random.split(ke)
            fb = forget[jax.random.permutation(kf, nf)[: f_steps * bf].reshape(f_steps, bf)]
            if steps:
                rk = jax.random.split(kr, steps)
                rb = retain[jax.vmap(lambda kk: jax.random.choice(kk, nr, (br,), False))(rk)]
            else:
                rb = jnp.zeros((0, br), retain.dtype)
            d = EpochData(model, x, y, fb, rb, e, epochs, jax.random.fold_in(ke, 2))
            p, state = rule.step(p, state, d)
            return (p, state), p

        keys = jax.random.split(k, epochs)
        _, traj = jax.lax.scan(epoch, (p0, rule.init(p0)), (keys, jnp.arange(epochs)))
        return traj

    n_models = jax.tree_util.tree_leaves(params)[0].shape[0]
    traj = jax.vmap(one)(jax.random.split(key, n_models), params)
    return jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), traj)


def unlearn_ensemble(
    key: Array,
    rule: UnlearningRule,
    model: nn.Module,
    params: Any,
    x: Float[ArrayLike, "n ..."],
    y: Int[ArrayLike, " n"],
    forget: Int[ArrayLike, " n_forget"],
    retain: Int[ArrayLike, " n_retain"],
    *,
    epochs: int,
    batch_size: int = 64,
    descent_steps: int | None = None,
) -> Any:
    r"""Unlearn a forget set from every model of an ensemble; parameters after each epoch.

    Every model runs ``rule`` (e.g. :func:`gradient_ascent`,
    :func:`gradient_descent_ascent`, :func:`scrub`, or a user's
    :class:`ascentjax.UnlearningRule` whose ``step`` does one epoch on an
    :class:`EpochData`) for ``epochs`` epochs with its own data order: each epoch
    gets a fresh random pass over the forget set in minibatches of
    ``min(batch_size, |F|)`` (the remainder dropped) and ``descent_steps`` random
    retain minibatches of ``min(batch_size, |R|)`` examples (drawn without replacement
    within a batch). The rule's ``prepare`` is not used.

    Args:
        key: PRNG key (per-model, per-epoch data orders).
        rule: the unlearning rule.
        model: the flax classifier.
        params: the ensemble to unlearn (leading axis N).
        x, y: the training set.
        forget: ``(|F|,)`` forget indices.
        retain: ``(|R|,)`` retain indices.
        epochs: number of epochs :math:`E`.
        batch_size: minibatch size.
        descent_steps: retain minibatches per epoch; default one pass,
            ``|R| // batch_size``.

    Returns:
        The parameters after every epoch: leaves of shape ``(E, N, ...)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax import nets
        >>> x = jax.random.normal(jax.random.key(1), (40, 4)); y = (x[:, 0] > 0).astype(int)
        >>> net = nets.MLP((8,), 2)
        >>> p = nets.train_ensemble(jax.random.key(0), net, x, y, n_models=3, epochs=1,
        ...                         batch_size=10)
        >>> t = nets.unlearn_ensemble(jax.random.key(2), nets.gradient_ascent(0.1), net, p,
        ...                           x, y, jnp.arange(5), jnp.arange(5, 40), epochs=4)
        >>> t["params"]["Dense_0"]["kernel"].shape
        (4, 3, 4, 8)
    """
    if not isinstance(rule, UnlearningRule):
        raise TypeError(f"rule must be an ascentjax.UnlearningRule, got {type(rule).__name__}")
    check_count("epochs", epochs)
    check_count("batch_size", batch_size)
    forget = jnp.asarray(forget)
    retain = jnp.asarray(retain)
    if forget.ndim != 1 or forget.shape[0] < 1 or retain.ndim != 1 or retain.shape[0] < 1:
        raise ValueError(f"forget and retain must be non-empty 1-D: {forget.shape}, {retain.shape}")
    if descent_steps is None:
        descent_steps = max(1, retain.shape[0] // batch_size)
    check_count("descent_steps", descent_steps, minimum=0)
    dt = jax.tree_util.tree_leaves(params)[0].dtype
    # the rule's numbers (hyperparameters) are traced arguments, in the parameters' dtype
    # when floating; anything else (a user's closures) is static
    leaves, rule_def = jax.tree_util.tree_flatten(rule)
    num = [_is_number(v) for v in leaves]
    dynamic = [
        (jnp.asarray(v, dt) if jnp.issubdtype(jnp.result_type(v), jnp.floating) else v)
        if n
        else None
        for v, n in zip(leaves, num, strict=True)
    ]
    static = tuple(None if n else v for v, n in zip(leaves, num, strict=True))
    return _unlearn(
        key,
        params,
        jnp.asarray(x),
        jnp.asarray(y),
        forget,
        retain,
        dynamic,
        rule_def=rule_def,
        static=static,
        model=model,
        epochs=int(epochs),
        batch_size=int(batch_size),
        steps=int(descent_steps),
    )
