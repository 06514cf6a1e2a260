r"""Membership inference against unlearned ensembles: loss threshold and likelihood ratio.

Two attacks report, beside KLoM, how well an adversary tells forgotten examples from
examples never trained on. Both output the area under the ROC curve (AUC; 0.5 = chance)
and the true-positive rate at low false-positive rates (Carlini et al., 2022, "Membership
Inference Attacks From First Principles": an attack is only worrying if it is confident
on some members, so TPR at 1 % and 0.1 % FPR matter more than the AUC).

* :func:`loss_threshold_attack` (Yeom et al., 2018): per model, members (the forget
  set) against non-members (held-out test points), scored by the margin: the
  cross-entropy is :math:`\log(1 + e^{-\phi})`, a decreasing function of the
  log-sum-exp margin :math:`\phi`, so thresholding the loss is thresholding the margin.
* :func:`likelihood_ratio_attack` (LiRA, Carlini et al., 2022; its unlearning variant
  U-LiRA, Hayes et al., 2024, "Inexact Unlearning Needs More Careful Evaluations to
  Avoid a False Sense of Privacy"): for every example :math:`x` a Gaussian is fitted to
  the margins of models trained *with* :math:`x` (the pretrained ensemble, "in") and one
  to models trained *without* it (an oracle ensemble, "out"); a model's margin
  :math:`\phi` on :math:`x` is scored by

  .. math::

      \Lambda(\phi; x) = \log\mathcal{N}(\phi;\ \mu_{\rm in}(x), \sigma_{\rm in}^2(x))
      - \log\mathcal{N}(\phi;\ \mu_{\rm out}(x), \sigma_{\rm out}^2(x)),

  and the attack separates unlearned models (positives) from other oracle models
  (negatives, not used in the fits) on the forget set. Perfect unlearning is
  indistinguishable from retraining: AUC 0.5, TPR at FPR :math:`f` about :math:`f`.

Everything is pure JAX (sorting and ``searchsorted``), works under ``jit`` and ``vmap``;
any non-finite input score makes the result NaN (a diverged model has no score).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._validation import check_positive, check_range

__all__ = [
    "AttackResult",
    "MIAResult",
    "likelihood_ratio_attack",
    "likelihood_ratio_scores",
    "loss_threshold_attack",
    "roc_auc",
    "tpr_at_fpr",
    "unlearning_mia",
]

DEFAULT_FPRS = (0.01, 0.001)


class AttackResult(NamedTuple):
    """The ROC summary of one membership-inference attack.

    Attributes:
        auc: area under the ROC curve (0.5 = chance, 1 = perfect).
        tpr: true-positive rate at each requested false-positive rate (last axis).
    """

    auc: Float[Array, " batch"]
    tpr: Float[Array, "batch fprs"]


class MIAResult(NamedTuple):
    """Both attacks of :func:`unlearning_mia`.

    Attributes:
        loss: :func:`loss_threshold_attack` (forget vs test), averaged over the models.
        lira: :func:`likelihood_ratio_attack` (unlearned vs held-out oracle models).
    """

    loss: AttackResult
    lira: AttackResult


def _finite(*arrays: Array) -> Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(a), axis=-1) for a in arrays]), axis=0)


def _scores(positive: ArrayLike, negative: ArrayLike) -> tuple[Array, Array]:
    pos, neg = jnp.asarray(positive), jnp.asarray(negative)
    if pos.ndim < 1 or neg.ndim < 1 or pos.shape[-1] < 1 or neg.shape[-1] < 1:
        raise ValueError(
            f"need at least one positive and one negative, got {pos.shape}, {neg.shape}"
        )
    if pos.shape[:-1] != neg.shape[:-1]:
        raise ValueError(f"leading shapes differ: positive {pos.shape}, negative {neg.shape}")
    dt = jnp.result_type(pos.dtype, neg.dtype, jnp.float32)
    return pos.astype(dt), neg.astype(dt)


def _batched(fn: Any, pos: Array, neg: Array) -> Array:
    """``fn`` of 1-D positives and negatives, vmapped over the leading axes."""
    lead = pos.shape[:-1]
    out = jax.vmap(fn)(pos.reshape(-1, pos.shape[-1]), neg.reshape(-1, neg.shape[-1]))
    return out.reshape(lead)


def roc_auc(positive: Float[ArrayLike, "... n"], negative: Float[ArrayLike, "... m"]) -> Array:
    r"""ROC AUC of scores (higher = "member"): the Mann–Whitney statistic.

    .. math::

        \mathrm{AUC} = \frac{1}{nm}\sum_{i,j}\Bigl(\mathbb{1}[s^+_i > s^-_j]
        + \tfrac12\,\mathbb{1}[s^+_i = s^-_j]\Bigr),

    the probability that a random positive outscores a random negative (ties count
    half), equal to the trapezoidal area under the empirical ROC curve. Computed by
    sorting the negatives, :math:`O((n + m)\log m)`; leading axes are batched.

    Args:
        positive: ``(..., n)`` scores of the positives (members).
        negative: ``(..., m)`` scores of the negatives; same leading axes.

    Returns:
        The AUC, shape ``(...)``; NaN where a score is not finite.

    Example:
        >>> import jax.numpy as jnp
        >>> float(roc_auc(jnp.array([2.0, 3.0]), jnp.array([1.0, 2.0])))
        0.875
    """
    pos, neg = _scores(positive, negative)

    def one(p: Array, n: Array) -> Array:
        s = jnp.sort(n)
        lt = jnp.searchsorted(s, p, side="left")  # negatives strictly below each positive
        le = jnp.searchsorted(s, p, side="right")  # ... at or below
        return jnp.sum(lt + le).astype(p.dtype) / (2.0 * p.size * n.size)

    auc = _batched(one, pos, neg)
    return jnp.where(_finite(pos, neg), auc, jnp.nan)


def tpr_at_fpr(
    positive: Float[ArrayLike, "... n"],
    negative: Float[ArrayLike, "... m"],
    fpr: float | ArrayLike,
) -> Array:
    r"""The largest true-positive rate of a threshold whose false-positive rate is <= ``fpr``.

    The rule "member if score :math:`> \tau`" has :math:`\mathrm{FPR}(\tau) =
    \#\{s^-_j > \tau\}/m`; the lowest admissible threshold is the
    :math:`(k+1)`-th largest negative score with :math:`k = \max\{j : j/m \le f\}`,
    and the result is :math:`\#\{s^+_i > \tau\}/n` (with :math:`k = m`, every
    positive). This is the best point of the empirical ROC curve at FPR :math:`\le f`,
    as read off ``sklearn.metrics.roc_curve``. With :math:`m < 1/f` it is the share of
    positives above every negative.

    Args:
        positive: ``(..., n)`` scores of the positives.
        negative: ``(..., m)`` scores of the negatives; same leading axes.
        fpr: the false-positive rate :math:`f \in [0, 1]` (scalar).

    Returns:
        The TPR, shape ``(...)``; NaN where a score is not finite.

    Example:
        >>> import jax.numpy as jnp
        >>> neg = jnp.arange(100.0)   # 1 % FPR: one negative (99) may pass; threshold 98
        >>> float(tpr_at_fpr(jnp.array([98.5, 99.5, 50.0, 120.0]), neg, 0.01))
        0.75
    """
    check_range("fpr", fpr, low=0.0, high=1.0)
    pos, neg = _scores(positive, negative)
    m = neg.shape[-1]
    k = jnp.sum(jnp.arange(m + 1) / m <= fpr) - 1  # negatives allowed above the threshold

    def one(p: Array, n: Array) -> Array:
        desc = -jnp.sort(-n)
        tau = jnp.where(k < m, desc[jnp.minimum(k, m - 1)], -jnp.inf)
        return jnp.sum((p > tau).astype(p.dtype)) / p.size  # count / n, exactly rounded

    tpr = _batched(one, pos, neg)
    return jnp.where(_finite(pos, neg), tpr, jnp.nan)


def _attack(pos: Array, neg: Array, fprs: Sequence[float]) -> AttackResult:
    tpr = jnp.stack([tpr_at_fpr(pos, neg, f) for f in fprs], axis=-1)
    return AttackResult(roc_auc(pos, neg), tpr)


def _check_fprs(fprs: Sequence[float]) -> tuple[float, ...]:
    fprs = tuple(float(f) for f in fprs)
    if not fprs:
        raise ValueError("fprs must name at least one false-positive rate")
    for f in fprs:
        check_range("fprs", f, low=0.0, high=1.0)
    return fprs


def loss_threshold_attack(
    member_margins: Float[ArrayLike, "... n"],
    nonmember_margins: Float[ArrayLike, "... m"],
    *,
    fprs: Sequence[float] = DEFAULT_FPRS,
) -> AttackResult:
    r"""The loss-threshold attack (Yeom et al., 2018): members have lower loss.

    The per-example cross-entropy of a model whose log-sum-exp margin on the example is
    :math:`\phi` is :math:`\ell = \log(1 + e^{-\phi})`, decreasing in :math:`\phi`, so
    the attack "member if :math:`\ell < t`" is "member if :math:`\phi > \tau`": the
    margins are the scores. Leading axes (e.g. the models of an ensemble, each attacked
    on its own) are batched.

    Args:
        member_margins: ``(..., n)`` margins on members (e.g. the forget set).
        nonmember_margins: ``(..., m)`` margins on non-members (e.g. test points).
        fprs: false-positive rates at which to report the TPR.

    Returns:
        An :class:`AttackResult` with ``auc`` of shape ``(...)`` and ``tpr`` of shape
        ``(..., len(fprs))``.

    Example:
        >>> import jax
        >>> m = jax.random.normal(jax.random.key(0), (2, 500))
        >>> r = loss_threshold_attack(m[0] + 1.0, m[1], fprs=(0.1,))
        >>> round(float(r.auc), 2)   # Phi(1 / sqrt 2) = 0.76
        0.77
    """
    fprs = _check_fprs(fprs)
    return _attack(jnp.asarray(member_margins), jnp.asarray(nonmember_margins), fprs)


def likelihood_ratio_scores(
    margins: Float[ArrayLike, "... p"],
    in_margins: Float[ArrayLike, "n_in p"],
    out_margins: Float[ArrayLike, "n_out p"],
    *,
    min_std: float = 1e-3,
) -> Array:
    r"""LiRA scores :math:`\Lambda`: per-example Gaussian log-likelihood ratio, in vs out.

    .. math::

        \Lambda(\phi; x) = \log\mathcal{N}(\phi; \mu_{\rm in}, \sigma_{\rm in}^2)
        - \log\mathcal{N}(\phi; \mu_{\rm out}, \sigma_{\rm out}^2),

    with :math:`\mu, \sigma` the mean and (population) standard deviation of the
    margins of the "in" and of the "out" models on example :math:`x` (columns), each
    :math:`\sigma` floored at ``min_std`` (a column of equal margins).

    Args:
        margins: ``(..., P)`` margins to score (any leading axes, e.g. models).
        in_margins: ``(N_in, P)`` margins of models trained with each example.
        out_margins: ``(N_out, P)`` margins of models trained without it.
        min_std: the floor on the fitted standard deviations, ``> 0``.

    Returns:
        The scores, shape of ``margins`` (higher = more "in").

    Example:
        >>> import jax.numpy as jnp
        >>> inn, out = jnp.array([[1.0], [3.0]]), jnp.array([[-1.0], [1.0]])
        >>> likelihood_ratio_scores(jnp.array([[2.0], [0.0]]), inn, out)
        Array([[ 2.],
               [-2.]], dtype=float32)
    """
    check_positive("min_std", min_std)
    phi, a, b = (jnp.asarray(v) for v in (margins, in_margins, out_margins))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or phi.shape[-1] != a.shape[1]:
        raise ValueError(
            "in_margins and out_margins must be (N, P) with the margins' P, got "
            f"{a.shape}, {b.shape} for margins {phi.shape}"
        )
    dt = jnp.result_type(phi.dtype, a.dtype, b.dtype, jnp.float32)

    def logpdf(v: Array, fit: Array) -> Array:
        mu, sd = fit.mean(0), jnp.maximum(fit.std(0), min_std)
        return -0.5 * ((v - mu) / sd) ** 2 - jnp.log(sd)  # the 2 pi terms cancel

    phi, a, b = phi.astype(dt), a.astype(dt), b.astype(dt)
    return logpdf(phi, a) - logpdf(phi, b)


def likelihood_ratio_attack(
    unlearned_margins: Float[ArrayLike, "n_u p"],
    heldout_oracle_margins: Float[ArrayLike, "n_h p"],
    in_margins: Float[ArrayLike, "n_in p"],
    out_margins: Float[ArrayLike, "n_out p"],
    *,
    fprs: Sequence[float] = DEFAULT_FPRS,
    min_std: float = 1e-3,
) -> AttackResult:
    r"""The per-example likelihood-ratio attack on unlearning (U-LiRA style).

    Positives are the :math:`N_U P` scores :func:`likelihood_ratio_scores` of the
    unlearned models on the forget examples, negatives the :math:`N_H P` scores of
    oracle models that were *not* used to fit the "out" Gaussians; the ROC is over the
    pooled (model, example) pairs. Perfect unlearning gives AUC 0.5; a model that still
    carries the forget set (the pretrained one) gives clearly more.

    Args:
        unlearned_margins: ``(N_U, P)`` margins of the unlearned models on the forget set.
        heldout_oracle_margins: ``(N_H, P)`` margins of held-out oracle models there.
        in_margins: ``(N_in, P)`` margins of models trained with the forget set.
        out_margins: ``(N_out, P)`` margins of oracle models (the "out" fits).
        fprs: false-positive rates at which to report the TPR.
        min_std: the floor on the fitted standard deviations.

    Returns:
        An :class:`AttackResult` (scalars, ``tpr`` of shape ``(len(fprs),)``).

    Example:
        >>> import jax
        >>> k = jax.random.split(jax.random.key(0), 4)
        >>> out = lambda kk: jax.random.normal(kk, (50, 20))
        >>> r = likelihood_ratio_attack(out(k[0]), out(k[1]), 2.0 + out(k[2]), out(k[3]))
        >>> 0.4 < float(r.auc) < 0.6   # indistinguishable from the oracle
        True
    """
    fprs = _check_fprs(fprs)
    kw = dict(min_std=min_std)
    pos = likelihood_ratio_scores(unlearned_margins, in_margins, out_margins, **kw)
    neg = likelihood_ratio_scores(heldout_oracle_margins, in_margins, out_margins, **kw)
    return _attack(pos.reshape(-1), neg.reshape(-1), fprs)


def unlearning_mia(
    unlearned_forget: Float[ArrayLike, "n_u f"],
    unlearned_test: Float[ArrayLike, "n_u t"],
    oracle_forget: Float[ArrayLike, "n_o f"],
    pretrained_forget: Float[ArrayLike, "n_p f"],
    *,
    fprs: Sequence[float] = DEFAULT_FPRS,
    min_std: float = 1e-3,
) -> MIAResult:
    r"""Both attacks on an unlearned ensemble, from margins only.

    * ``loss``: :func:`loss_threshold_attack` of every unlearned model, forget set
      (members) against test points, averaged over the models (an oracle model scores
      about 0.5 on a random forget set).
    * ``lira``: :func:`likelihood_ratio_attack` with the pretrained ensemble as "in",
      the first :math:`\lfloor N_O/2\rfloor` oracle models as "out" and the next
      :math:`\lfloor N_O/2\rfloor` as the held-out negatives.

    Args:
        unlearned_forget: ``(N_U, |F|)`` unlearned margins on the forget set.
        unlearned_test: ``(N_U, T)`` unlearned margins on test points.
        oracle_forget: ``(N_O, |F|)`` oracle margins on the forget set, ``N_O >= 4``.
        pretrained_forget: ``(N_P, |F|)`` pretrained margins on the forget set.
        fprs: false-positive rates at which to report the TPRs.
        min_std: the floor on the LiRA standard deviations.

    Returns:
        A :class:`MIAResult` of scalar AUCs and ``(len(fprs),)`` TPRs.

    Example:
        >>> import jax
        >>> k = jax.random.split(jax.random.key(0), 4)
        >>> r = unlearning_mia(jax.random.normal(k[0], (8, 5)), jax.random.normal(k[1], (8, 9)),
        ...                    jax.random.normal(k[2], (8, 5)), jax.random.normal(k[3], (8, 5)))
        >>> r.loss.tpr.shape, r.lira.tpr.shape
        ((2,), (2,))
    """
    uf, ut, of, pf = (jnp.asarray(v) for v in (unlearned_forget, unlearned_test, oracle_forget,
                                               pretrained_forget))  # fmt: skip
    if uf.ndim != 2 or ut.ndim != 2 or uf.shape[0] != ut.shape[0]:
        raise ValueError(
            f"unlearned_forget and unlearned_test must be (N_U, |F|) and (N_U, T), got "
            f"{uf.shape}, {ut.shape}"
        )
    if of.ndim != 2 or of.shape[0] < 4:
        raise ValueError(f"oracle_forget must be (N_O, |F|) with N_O >= 4, got {of.shape}")
    h = of.shape[0] // 2
    loss = loss_threshold_attack(uf, ut, fprs=fprs)
    loss = AttackResult(jnp.mean(loss.auc), jnp.mean(loss.tpr, axis=0))
    lira = likelihood_ratio_attack(uf, of[h : 2 * h], pf, of[:h], fprs=fprs, min_std=min_std)
    return MIAResult(loss, lira)
