r"""Nine unlearning baselines, each a method ``method(problem, learning_rate, **hyper)``.

Every baseline reads only what a :class:`~ascentjax.stress.StressProblem` exposes (losses
as functions of the parameters, weights, ridge, pretrained parameters, key), so each runs
unchanged on every setting of the suite. Each returns an :class:`ascentjax.UnlearningRule`
that :func:`ascentjax.run_rule` runs from ``problem.params0`` with the problem itself as
the data argument::

    rule = method(problem, learning_rate)
    traj = ascentjax.run_rule(rule, problem.params0, problem, steps=1000)

Plain gradient methods are :func:`ascentjax.descent_rule` on an objective built from the
problem; on a linear problem they take exactly the steps of the core rules
(:func:`ascentjax.retrain`, :func:`ascentjax.simultaneous_da`, ...), which the tests check.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike

from .._rules import UnlearningRule, descent_rule
from .._validation import check_count, check_nonnegative, check_positive
from ._problem import StressProblem

__all__ = [
    "BASELINES",
    "finetune",
    "gradient_ascent",
    "iterative_da",
    "newton",
    "noisy_gd",
    "npo",
    "retrain",
    "scrub",
    "simultaneous_da",
]

Params = Any


def _check(problem: Any, learning_rate: Any) -> None:
    if not isinstance(problem, StressProblem):
        raise TypeError(
            f"problem must be an ascentjax.stress.StressProblem, got {type(problem).__name__}"
        )
    check_positive("learning_rate", learning_rate)


def _select(pred: jax.Array, a: Params, b: Params) -> Params:
    return jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), a, b)


def retrain(problem: StressProblem, learning_rate: ArrayLike) -> UnlearningRule:
    r"""Retrain from scratch: gradient descent on :math:`L_R` from ``problem.params_init``.

    The exact-unlearning reference (the oracle) every approximate method is measured
    against, e.g. Bourtoule et al., "Machine Unlearning", IEEE S&P 2021 (SISA retrains
    from scratch on the retain set). The first step discards the pretrained start.

    Args:
        problem: the :class:`~ascentjax.stress.StressProblem`.
        learning_rate: step size :math:`\eta > 0` (may be traced).

    Returns:
        An :class:`ascentjax.UnlearningRule` (state: the optimizer state and a step count).

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> p = aj.stress.linear_problem(aj.OneCoordinate(0.5, 0.01).data(), 0.01, jnp.ones(1))
        >>> w = aj.run_rule(aj.stress.retrain(p, 1.0), p.params0, p, steps=500).final
        >>> round(float(w[0]), 3)  # W0(|R_j| / (lam |R|)) = W0(50/9), the oracle
        1.387
    """
    _check(problem, learning_rate)
    inner = descent_rule(lambda p, prob: prob.retain_objective(p), learning_rate)

    def init(params: Params) -> Any:
        return inner.init(params), jnp.zeros((), jnp.int32)

    def step(params: Params, state: Any, data: StressProblem) -> tuple[Params, Any]:
        opt_state, t = state
        params = _select(t == 0, data.params_init, params)
        params, opt_state = inner.step(params, opt_state, data)
        return params, (opt_state, t + 1)

    return UnlearningRule(init, step)


def finetune(problem: StressProblem, learning_rate: ArrayLike) -> UnlearningRule:
    r"""Fine-tune on the retain set: gradient descent on :math:`L_R` from the pretrained model.

    .. math:: \theta \leftarrow \theta - \eta \nabla L_R(\theta).

    The "fine-tuning" baseline of Golatkar, Achille, Soatto, "Eternal Sunshine of the
    Spotless Net: Selective Forgetting in Deep Networks", CVPR 2020 (and Warnecke et al.
    2023). On a strictly convex :math:`L_R` it converges to the oracle.

    Args:
        problem: the :class:`~ascentjax.stress.StressProblem`.
        learning_rate: step size :math:`\eta > 0` (may be traced).

    Returns:
        An :class:`ascentjax.UnlearningRule`.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> p = aj.stress.linear_problem(aj.OneCoordinate(0.5, 0.01).data(), 0.01, jnp.ones(1))
        >>> w = aj.run_rule(aj.stress.finetune(p, 1.0), p.params0, p, steps=500).final
        >>> round(float(w[0]), 3)
        1.387
    """
    _check(problem, learning_rate)
    return descent_rule(lambda p, prob: prob.retain_objective(p), learning_rate)


def gradient_ascent(problem: StressProblem, learning_rate: ArrayLike) -> UnlearningRule:
    r"""Gradient ascent on the forget loss, the ridge descended.

    .. math:: \theta \leftarrow \theta + \eta \nabla L_F(\theta) - \eta\lambda\theta.

    Golatkar et al., CVPR 2020; Thudi et al., "Unrolling SGD: Understanding Factors
    Influencing Machine Unlearning", EuroS&P 2022; Jang et al., "Knowledge Unlearning for
    Mitigating Privacy Risks in Language Models", ACL 2023.

    Args:
        problem: the :class:`~ascentjax.stress.StressProblem`.
        learning_rate: step size :math:`\eta > 0` (may be traced).

    Returns:
        An :class:`ascentjax.UnlearningRule`.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> p = aj.stress.linear_problem(aj.OneCoordinate(0.5, 0.01).data(), 0.01, jnp.ones(1))
        >>> w = aj.run_rule(aj.stress.gradient_ascent(p, 1.0), p.params0, p, steps=10).final
        >>> bool(w[0] < 1.0)  # ascent lowers the forget margin
        True
    """
    _check(problem, learning_rate)
    return descent_rule(lambda p, prob: prob.ridge(p) - prob.forget_loss(p), learning_rate)


def _da_objective(p: Params, prob: StressProblem) -> jax.Array:
    return prob.retain_objective(p) - prob.forget_loss(p)


def simultaneous_da(problem: StressProblem, learning_rate: ArrayLike) -> UnlearningRule:
    r"""Simultaneous descent-ascent: gradient descent on :math:`L_{DA} = L_R - L_F`.

    .. math:: \theta \leftarrow \theta - \eta \nabla\big(L_R(\theta) - L_F(\theta)\big).

    The gradient-difference objective of Liu et al., "Continual Learning and Private
    Unlearning", CoLLAs 2022, and Maini et al., "TOFU", 2024; the object of study of
    Mavrothalassitis et al., "Ascent Fails to Forget", NeurIPS 2025.

    Args:
        problem: the :class:`~ascentjax.stress.StressProblem`.
        learning_rate: step size :math:`\eta > 0` (may be traced).

    Returns:
        An :class:`ascentjax.UnlearningRule`.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> data = aj.OneCoordinate(0.05, 0.01, 5, 100, 10).data()
        >>> p = aj.stress.linear_problem(data, 0.01, jnp.zeros(1))
        >>> w = aj.run_rule(aj.stress.simultaneous_da(p, 0.5), p.params0, p, steps=2000).final
        >>> round(float(w[0]), 4)  # W0(2.5), the DA stationary point
        0.9586
    """
    _check(problem, learning_rate)
    return descent_rule(_da_objective, learning_rate)


def iterative_da(
    problem: StressProblem,
    learning_rate: ArrayLike,
    *,
    ascent_learning_rate: ArrayLike | None = None,
) -> UnlearningRule:
    r"""Iterative descent-ascent: a descent step on :math:`L_R`, then an ascent step on
    :math:`L_F` (the ridge descended in both).

    .. math::

        \theta' = \theta - \eta\nabla L_R(\theta), \qquad
        \theta'' = \theta' + \eta_a \nabla L_F(\theta') - \eta_a\lambda\theta'.

    The alternating schedule of SCRUB-style and NegGrad+ methods (Kurmanji et al. 2023;
    Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023); its
    spurious fixed points are analysed in "Ascent Fails to Forget", App. D.3.

    Args:
        problem: the :class:`~ascentjax.stress.StressProblem`.
        learning_rate: descent step size :math:`\eta > 0` (may be traced).
        ascent_learning_rate: ascent step size :math:`\eta_a` (default ``learning_rate``).

    Returns:
        An :class:`ascentjax.UnlearningRule` (state: the two optimizer states).

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> data = aj.OneCoordinate(0.0, 0.01, 5, 100, 10).data()
        >>> p = aj.stress.linear_problem(data, 0.01, jnp.ones(1))
        >>> w = aj.run_rule(aj.stress.iterative_da(p, 1.0), p.params0, p, steps=1).final
        >>> round(float(w[0]), 6) == round((1 + 0.05 * 2.718281828**-1 - 0.01) * 0.99, 6)
        True
    """
    _check(problem, learning_rate)
    eta_a = learning_rate if ascent_learning_rate is None else ascent_learning_rate
    check_positive("ascent_learning_rate", eta_a)
    down = descent_rule(lambda p, prob: prob.retain_objective(p), learning_rate)
    up = descent_rule(lambda p, prob: prob.ridge(p) - prob.forget_loss(p), eta_a)

    def init(params: Params) -> Any:
        return down.init(params), up.init(params)

    def step(params: Params, state: Any, data: StressProblem) -> tuple[Params, Any]:
        sd, sa = state
        params, sd = down.step(params, sd, data)
        params, sa = up.step(params, sa, data)
        return params, (sd, sa)

    return UnlearningRule(init, step)


def npo(
    problem: StressProblem,
    learning_rate: ArrayLike,
    *,
    beta: ArrayLike = 1.0,
    retain_weight: ArrayLike = 1.0,
) -> UnlearningRule:
    r"""Negative preference optimization (NPO), with the retain loss (NPO+RT).

    Reading :math:`-\ell_i` as the log-likelihood :math:`\log\pi_\theta(y_i|x_i)` and the
    pretrained model as the reference policy, NPO descends

    .. math::

        J(\theta) = \frac{2}{\beta}\sum_i c^F_i
        \log\Big(1 + \big(\tfrac{\pi_\theta}{\pi_{\text{ref}}}\big)^{\beta}\Big)
        + w_R\, L_R(\theta)
        = \frac{2}{\beta}\sum_i c^F_i\,\mathrm{softplus}\big(\beta(\ell_i(\theta_0)
          - \ell_i(\theta))\big) + w_R\,L_R(\theta),

    a bounded, adaptively weighted version of gradient ascent (:math:`\beta \to 0`
    recovers it). Zhang, Lin, Bai, Mei, "Negative Preference Optimization: From
    Catastrophic Collapse to Effective Unlearning", COLM 2024, arXiv 2404.05868.

    Args:
        problem: the :class:`~ascentjax.stress.StressProblem`.
        learning_rate: step size :math:`\eta > 0` (may be traced).
        beta: inverse temperature :math:`\beta > 0`.
        retain_weight: weight :math:`w_R \ge 0` of :math:`L_R` (0: forget term and ridge).

    Returns:
        An :class:`ascentjax.UnlearningRule`.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> p = aj.stress.linear_problem(aj.OneCoordinate(0.5, 0.01).data(), 0.01, jnp.ones(1))
        >>> w = aj.run_rule(aj.stress.npo(p, 1.0), p.params0, p, steps=100).final
        >>> bool(jnp.isfinite(w[0]))
        True
    """
    _check(problem, learning_rate)
    check_positive("beta", beta)
    check_nonnegative("retain_weight", retain_weight)
    ref = jax.lax.stop_gradient(problem.losses(problem.params0))

    def objective(p: Params, prob: StressProblem) -> jax.Array:
        term = jax.nn.softplus(beta * (ref - prob.losses(p)))
        forget = (2.0 / beta) * jnp.sum(prob.forget_weight * term)
        return forget + retain_weight * prob.retain_loss(p) + prob.ridge(p)

    return descent_rule(objective, learning_rate)


def _bernoulli_kl(teacher: jax.Array, student: jax.Array) -> jax.Array:
    # KL(Bern(sigmoid(teacher)) || Bern(sigmoid(student))), per example
    pt = jax.nn.sigmoid(teacher)
    lt, lt1 = jax.nn.log_sigmoid(teacher), jax.nn.log_sigmoid(-teacher)
    ls, ls1 = jax.nn.log_sigmoid(student), jax.nn.log_sigmoid(-student)
    return pt * (lt - ls) + (1 - pt) * (lt1 - ls1)


def scrub(
    problem: StressProblem,
    learning_rate: ArrayLike,
    *,
    kl_weight: ArrayLike = 1.0,
    task_weight: ArrayLike = 1.0,
    max_steps: int = 50,
) -> UnlearningRule:
    r"""SCRUB: a student initialised at the teacher (the pretrained model) stays close to
    it on the retain set and moves away from it on the forget set.

    Each step is a *min-step* on
    :math:`\alpha\sum_i c^R_i\,\mathrm{KL}_i + \gamma L_R^{\text{loss}} + \frac{\lambda}{2}
    \|\theta\|^2` followed, during the first ``max_steps`` steps, by a *max-step* (descent
    on :math:`-\sum_i c^F_i\,\mathrm{KL}_i`), where :math:`\mathrm{KL}_i` is the KL
    divergence from the teacher's to the student's predictive distribution on example
    :math:`i`. The problem's scores are read as logits of a Bernoulli prediction,
    :math:`p = \sigma(\text{score})`. Kurmanji, Triantafillou, Hayes, Triantafillou,
    "Towards Unbounded Machine Unlearning", NeurIPS 2023, arXiv 2302.09880.

    Args:
        problem: the :class:`~ascentjax.stress.StressProblem`.
        learning_rate: step size :math:`\eta > 0` of both steps (may be traced).
        kl_weight: :math:`\alpha \ge 0`, weight of the retain distillation term.
        task_weight: :math:`\gamma \ge 0`, weight of the retain task loss.
        max_steps: number of initial steps that include a max-step (static int >= 0).

    Returns:
        An :class:`ascentjax.UnlearningRule` (state: the two optimizer states, a count).

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> p = aj.stress.linear_problem(aj.OneCoordinate(0.5, 0.01).data(), 0.01, jnp.ones(1))
        >>> w = aj.run_rule(aj.stress.scrub(p, 1.0), p.params0, p, steps=100).final
        >>> bool(jnp.isfinite(w[0]))
        True
    """
    _check(problem, learning_rate)
    check_nonnegative("kl_weight", kl_weight)
    check_nonnegative("task_weight", task_weight)
    check_count("max_steps", max_steps, minimum=0)
    teacher = jax.lax.stop_gradient(problem.scores(problem.params0))

    def min_obj(p: Params, prob: StressProblem) -> jax.Array:
        kl = jnp.sum(prob.retain_weight * _bernoulli_kl(teacher, prob.scores(p)))
        return kl_weight * kl + task_weight * prob.retain_loss(p) + prob.ridge(p)

    def max_obj(p: Params, prob: StressProblem) -> jax.Array:
        return -jnp.sum(prob.forget_weight * _bernoulli_kl(teacher, prob.scores(p)))

    down = descent_rule(min_obj, learning_rate)
    up = descent_rule(max_obj, learning_rate)

    def init(params: Params) -> Any:
        return down.init(params), up.init(params), jnp.zeros((), jnp.int32)

    def step(params: Params, state: Any, data: StressProblem) -> tuple[Params, Any]:
        sd, su, t = state
        params, sd = down.step(params, sd, data)
        maxed, su2 = up.step(params, su, data)
        use = t < max_steps
        return _select(use, maxed, params), (sd, _select(use, su2, su), t + 1)

    return UnlearningRule(init, step)


def noisy_gd(
    problem: StressProblem,
    learning_rate: ArrayLike,
    *,
    sigma: ArrayLike = 1e-3,
    radius: ArrayLike = jnp.inf,
) -> UnlearningRule:
    r"""Noisy gradient descent on :math:`L_R` (Langevin unlearning), from the pretrained model.

    .. math:: \theta \leftarrow \Pi_{\|\theta\| \le C}\Big(\theta - \eta\nabla L_R(\theta)
        + \sqrt{2\eta}\,\sigma\,\xi\Big), \qquad \xi \sim \mathcal N(0, I).

    Randomness enters through the rule's state: ``init`` takes ``problem.key``, every
    step splits it (one seed of a suite = one key, bit-identical reruns). Chien, Wang,
    Li, Milenkovic, "Langevin Unlearning: A New Perspective of Noisy Gradient Descent for
    Machine Unlearning", NeurIPS 2024, arXiv 2401.10371.

    Args:
        problem: the :class:`~ascentjax.stress.StressProblem`.
        learning_rate: step size :math:`\eta > 0` (may be traced).
        sigma: noise scale :math:`\sigma \ge 0`.
        radius: projection radius :math:`C > 0` (default: no projection).

    Returns:
        An :class:`ascentjax.UnlearningRule` (state: the PRNG key).

    Example:
        >>> import jax, jax.numpy as jnp, ascentjax as aj
        >>> p = aj.stress.linear_problem(aj.OneCoordinate(0.5, 0.01).data(), 0.01, jnp.ones(1),
        ...                              key=jax.random.key(1))
        >>> w = aj.run_rule(aj.stress.noisy_gd(p, 1.0, sigma=1e-3), p.params0, p,
        ...                 steps=500).final
        >>> round(float(w[0]), 1)
        1.4
    """
    _check(problem, learning_rate)
    check_nonnegative("sigma", sigma)
    check_positive("radius", radius)
    key0 = problem.key

    def init(params: Params) -> Any:
        return key0

    def step(params: Params, key: jax.Array, data: StressProblem) -> tuple[Params, Any]:
        key, sub = jax.random.split(key)
        flat, unravel = ravel_pytree(params)
        g, _ = ravel_pytree(jax.grad(data.retain_objective)(params))
        noise = jax.random.normal(sub, flat.shape, flat.dtype)
        new = flat - learning_rate * g + jnp.sqrt(2.0 * learning_rate) * sigma * noise
        norm = jnp.linalg.norm(new)
        new = new * jnp.minimum(1.0, radius / jnp.where(norm > 0, norm, 1.0))
        return unravel(new), key

    return UnlearningRule(init, step)


def newton(
    problem: StressProblem, learning_rate: ArrayLike = 1.0, *, damping: ArrayLike = 0.0
) -> UnlearningRule:
    r"""One-step Newton removal from the pretrained model (certified removal).

    .. math:: \theta_U = \theta_0 - \big(\nabla^2 L_R(\theta_0) + \mu I\big)^{-1}
        \nabla L_R(\theta_0),

    taken at the first step; later steps keep :math:`\theta_U`. For a ridge-regularised
    convex loss the error is quadratic in :math:`\|\theta_0 - \theta_R\|`. The Hessian
    is ``jax.hessian`` of :math:`L_R` on the flattened parameters (small models only).
    ``learning_rate`` is accepted for the common signature and unused (the Newton step is
    a full step). Guo, Goldstein, Hannun, van der Maaten, "Certified Data Removal from
    Machine Learning Models", ICML 2020, arXiv 1911.03030.

    Args:
        problem: the :class:`~ascentjax.stress.StressProblem`.
        learning_rate: unused (> 0).
        damping: :math:`\mu \ge 0` added to the Hessian's diagonal.

    Returns:
        An :class:`ascentjax.UnlearningRule` (state: a step count).

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> block = aj.Block(rho=0.8, alpha=0.05, lam=0.01)
        >>> sol = aj.theory.solve(block)
        >>> p = aj.stress.linear_problem(block.data(), 0.01, sol.pretrained.weights)
        >>> w = aj.run_rule(aj.stress.newton(p), p.params0, p, steps=1).final
        >>> w_r, w_d = sol.oracle.weights, sol.pretrained.weights
        >>> bool(jnp.linalg.norm(w - w_r) < 0.02 * jnp.linalg.norm(w_d - w_r))  # R ~ 0.01
        True
    """
    _check(problem, learning_rate)
    check_nonnegative("damping", damping)

    def init(params: Params) -> Any:
        return jnp.zeros((), jnp.int32)

    def step(params: Params, t: jax.Array, data: StressProblem) -> tuple[Params, Any]:
        flat, unravel = ravel_pytree(params)

        def obj(v: jax.Array) -> jax.Array:
            return data.retain_objective(unravel(v))

        g = jax.grad(obj)(flat)
        h = jax.hessian(obj)(flat) + damping * jnp.eye(flat.shape[0], dtype=flat.dtype)
        new = flat - jnp.linalg.solve(h, g)
        return _select(t == 0, unravel(new), params), t + 1

    return UnlearningRule(init, step)


class _Baselines(dict):
    """The nine built-in baselines by name (``name -> method``), in the scorecard's order:
    retrain, finetune, gradient_ascent, simultaneous_da, iterative_da, npo, scrub,
    noisy_gd, newton."""


BASELINES = _Baselines(
    retrain=retrain,
    finetune=finetune,
    gradient_ascent=gradient_ascent,
    simultaneous_da=simultaneous_da,
    iterative_da=iterative_da,
    npo=npo,
    scrub=scrub,
    noisy_gd=noisy_gd,
    newton=newton,
)
