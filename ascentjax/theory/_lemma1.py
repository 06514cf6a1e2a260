r"""Lemma 1: the oracle's forget accuracy is a test accuracy on a random forget set.

If the forget set :math:`F` is a uniformly random subset of a training set
:math:`D` drawn i.i.d. from a distribution :math:`P`, then, conditional on the
retain set :math:`R = D\setminus F`, the forget points are fresh i.i.d. draws
from :math:`P`, independent of the oracle :math:`w_R`, exactly like the points of an
independent test set :math:`T`. Hoeffding's inequality on the difference of the two
accuracies gives Lemma 1:

.. math::

    P\big(|\mathrm{Acc}_F - \mathrm{Acc}_T| \ge t\big)
    \le 2\exp\!\Big(-\frac{2t^2}{1/|F| + 1/|T|}\Big).

This module provides the bound, its inverse, the Monte-Carlo tail frequency, the DKW
confidence band of that frequency and the verdict that combines them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from jaxtyping import Array, Float

from .._validation import check_nonnegative, check_positive, check_range

__all__ = [
    "Lemma1Verdict",
    "dkw_band",
    "lemma1_bound",
    "lemma1_threshold",
    "lemma1_verdict",
    "tail_frequency",
]


# ----------------------------------------------------------------------------- the bound
def lemma1_bound(t: ArrayLike, n_forget: ArrayLike, n_test: ArrayLike) -> Float[Array, "*batch"]:
    r"""Lemma 1's tail bound on the oracle's forget-test accuracy gap.

    .. math::

        P\big(|\mathrm{Acc}_F - \mathrm{Acc}_T| \ge t\big)
        \le 2\exp\!\Big(-\frac{2t^2}{1/|F| + 1/|T|}\Big).

    Derivation (Hoeffding): :math:`\mathrm{Acc}_F - \mathrm{Acc}_T =
    \sum_{i\in F} a_i/|F| - \sum_{j\in T} b_j/|T|` with independent
    :math:`a_i, b_j \in \{0, 1\}`; the terms have ranges :math:`1/|F|`
    (:math:`|F|` of them) and :math:`1/|T|` (:math:`|T|` of them), so the sum of
    squared ranges is :math:`1/|F| + 1/|T|`, and the mean of the gap is 0
    because both kinds of points are draws from the same distribution.

    Args:
        t: gap threshold :math:`t \ge 0` (any shape; may be traced).
        n_forget: :math:`|F| > 0` (may be traced).
        n_test: :math:`|T| > 0` (may be traced).

    Returns:
        The bound, broadcast over the inputs. It is **not** clipped at 1: values
        above 1 mean the bound is vacuous at that ``t``.

    Raises:
        ValueError: for concrete ``t < 0`` or non-positive counts.

    Example:
        >>> import ascentjax as aj
        >>> round(float(aj.theory.lemma1_bound(0.1, 100, 100)), 6)  # 2 exp(-1)
        0.735759
    """
    check_nonnegative("t", t)
    check_positive("n_forget", n_forget)
    check_positive("n_test", n_test)
    t = jnp.asarray(t)
    dt = jnp.result_type(t, n_forget, n_test, float)
    t = t.astype(dt)
    var = 1 / jnp.asarray(n_forget, dt) + 1 / jnp.asarray(n_test, dt)
    return 2 * jnp.exp(-2 * jnp.square(t) / var)


def lemma1_threshold(
    delta: ArrayLike, n_forget: ArrayLike, n_test: ArrayLike
) -> Float[Array, "*batch"]:
    r"""The gap exceeded with probability at most :math:`\delta` (Lemma 1 inverted).

    .. math:: t(\delta) = \sqrt{\tfrac12\big(1/|F| + 1/|T|\big)\ln(2/\delta)}.

    An unlearned model whose forget accuracy is below its test accuracy by more
    than :math:`t(\delta)` is, at level :math:`\delta`, not the oracle.

    Args:
        delta: probability :math:`\delta \in (0, 1]` (may be traced).
        n_forget: :math:`|F| > 0`.
        n_test: :math:`|T| > 0`.

    Returns:
        :math:`t(\delta)`, broadcast over the inputs.

    Example:
        >>> import ascentjax as aj
        >>> t = aj.theory.lemma1_threshold(0.05, 100, 1000)
        >>> round(float(aj.theory.lemma1_bound(t, 100, 1000)), 6)
        0.05
    """
    check_range("delta", delta, low=0.0, high=1.0, low_inclusive=False)
    check_positive("n_forget", n_forget)
    check_positive("n_test", n_test)
    dt = jnp.result_type(delta, n_forget, n_test, float)
    var = 1 / jnp.asarray(n_forget, dt) + 1 / jnp.asarray(n_test, dt)
    return jnp.sqrt(0.5 * var * jnp.log(2 / jnp.asarray(delta, dt)))


def tail_frequency(gaps: Float[ArrayLike, " n"], t: ArrayLike) -> Float[Array, "*t"]:
    r"""Monte-Carlo tail frequency :math:`\hat q(t) = \frac1N\#\{k: |g_k| \ge t\}`.

    The empirical counterpart of the left side of Lemma 1, for gaps
    :math:`g_k = \mathrm{Acc}_F - \mathrm{Acc}_T` of :math:`N` independent draws.

    Args:
        gaps: the gaps, shape ``(N,)``.
        t: thresholds (any shape).

    Returns:
        :math:`\hat q(t)`, with the shape of ``t``.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> gaps = jnp.array([0.0, -0.1, 0.2, 0.3])
        >>> aj.theory.tail_frequency(gaps, jnp.array([0.1, 0.25])).tolist()
        [0.75, 0.25]
    """
    gaps = jnp.abs(jnp.asarray(gaps))
    if gaps.ndim != 1:
        raise ValueError(f"gaps must be one-dimensional (one gap per draw), got shape {gaps.shape}")
    if gaps.shape[0] == 0:
        raise ValueError("gaps must hold at least one draw, got an empty array")
    check_nonnegative("t", t)
    t = jnp.asarray(t)
    hit = gaps[:, None] >= t.reshape(-1)[None, :]
    return jnp.mean(hit, axis=0, dtype=jnp.result_type(gaps, float)).reshape(t.shape)


# ----------------------------------------------------------------------------- verdict
def dkw_band(draws: int, *, level: float = 0.01, n_tests: int = 1) -> float:
    r"""Half-width of a simultaneous confidence band for a Monte-Carlo tail frequency.

    By the Dvoretzky–Kiefer–Wolfowitz inequality (Massart's constant),
    :math:`P\big(\sup_t |\hat q(t) - q(t)| > \varepsilon\big) \le 2 e^{-2N\varepsilon^2}`
    for the empirical tail :math:`\hat q` of :math:`N` i.i.d. draws. With a Bonferroni
    correction over ``n_tests`` independent checks, the family-wise false-alarm rate is at
    most ``level`` for

    .. math::

        \varepsilon = \sqrt{\frac{\ln(2\,n_{\text{tests}}/\text{level})}{2N}}.

    Args:
        draws: :math:`N \ge 1`, the number of draws behind each tail frequency.
        level: family-wise false-alarm rate in :math:`(0, 1)`.
        n_tests: number of tail frequencies judged together (>= 1).

    Returns:
        :math:`\varepsilon` (a Python float).

    Example:
        >>> import ascentjax as aj
        >>> round(aj.theory.dkw_band(1000, level=0.01, n_tests=4), 4)
        0.0578
    """
    check_range("draws", draws, low=1.0)
    check_range("level", level, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_range("n_tests", n_tests, low=1.0)
    return math.sqrt(math.log(2 * n_tests / level) / (2 * draws))


class Lemma1Verdict(NamedTuple):
    """Lemma 1 against a Monte-Carlo sample of forget-test accuracy gaps.

    Attributes:
        n_forget: :math:`|F|`.
        draws: number of gaps :math:`N`.
        mean_gap: mean of the gaps.
        sd_gap: standard deviation of the gaps.
        max_excess: :math:`\\sup_t [\\hat q(t) - \\min(1, \\text{bound}(t))]` over the attained
            :math:`|g|` where the bound is informative (< 1), or over all of them if it is
            vacuous everywhere.
        t_at_max_excess: the :math:`t` attaining it.
        freq_at_max_excess: :math:`\\hat q` there.
        bound_at_max_excess: the (clipped) bound there.
        excess_in_binomial_se: ``max_excess`` in binomial standard errors of the bound.
        dkw_eps: the band half-width used.
        bound_vacuous_at_every_attained_t: the bound is :math:`\\ge 1` at every attained
            :math:`t`.
        violation: ``max_excess > dkw_eps`` (Lemma 1 fails beyond Monte-Carlo error).
    """

    n_forget: int
    draws: int
    mean_gap: float
    sd_gap: float
    max_excess: float
    t_at_max_excess: float
    freq_at_max_excess: float
    bound_at_max_excess: float
    excess_in_binomial_se: float | None
    dkw_eps: float
    bound_vacuous_at_every_attained_t: bool
    violation: bool


def lemma1_verdict(
    gaps: Float[ArrayLike, " n"], n_forget: int, n_test: int, eps: float
) -> Lemma1Verdict:
    r"""Judge Lemma 1 on sampled gaps :math:`g_k = \mathrm{Acc}_F - \mathrm{Acc}_T` (host-side).

    The tail frequency :math:`\hat q(t)` (:func:`tail_frequency`) is compared with
    :math:`\min(1, \text{bound}(t))` (:func:`lemma1_bound`) at every attained :math:`|g_k|`,
    where the supremum of the difference is attained (:math:`\hat q` is a right-continuous
    step function and the bound decreases). Lemma 1 is violated beyond Monte-Carlo error
    when the largest excess exceeds the band half-width ``eps`` (:func:`dkw_band`).

    Args:
        gaps: the gaps, shape ``(N,)``.
        n_forget: :math:`|F|` of the draws.
        n_test: :math:`|T|` of the draws.
        eps: band half-width, e.g. ``dkw_band(N, level=0.01)``.

    Returns:
        A :class:`Lemma1Verdict`.

    Example:
        >>> import numpy as np
        >>> import ascentjax as aj
        >>> aj.theory.lemma1_verdict(np.full(1000, 0.9), 5, 60, eps=0.05).violation
        True
        >>> aj.theory.lemma1_verdict(np.zeros(1000), 5, 60, eps=0.05).violation
        False
    """
    check_nonnegative("eps", eps)
    g = np.asarray(gaps, dtype=float)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"gaps must be a non-empty one-dimensional array, got shape {g.shape}")
    ts = np.unique(np.abs(g))
    q = np.asarray(tail_frequency(g, ts))
    b = np.minimum(1.0, np.asarray(lemma1_bound(ts, n_forget, n_test)))
    ex = q - b
    # where the bound is vacuous (>= 1) the excess is <= 0 trivially; report the sup over
    # the informative t (falling back to all t when the bound is vacuous everywhere)
    informative = b < 1
    if informative.any():
        ex = np.where(informative, ex, -np.inf)
    i = int(np.argmax(ex))
    se = math.sqrt(max(b[i] * (1 - b[i]), 1e-300) / len(g))
    return Lemma1Verdict(
        n_forget=int(n_forget),
        draws=len(g),
        mean_gap=float(np.mean(g)),
        sd_gap=float(np.std(g)),
        max_excess=float(ex[i]),
        t_at_max_excess=float(ts[i]),
        freq_at_max_excess=float(q[i]),
        bound_at_max_excess=float(b[i]),
        excess_in_binomial_se=float(ex[i] / se) if se > 0 else None,
        dkw_eps=float(eps),
        bound_vacuous_at_every_attained_t=bool(not informative.any()),
        violation=bool(ex[i] > eps),
    )
