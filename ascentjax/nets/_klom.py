r"""KLoM (KL divergence of margins): the per-point estimator and its split summary.

Paper Sec. 3 and App. K. KLoM is from Georgiev et al., "Attribute-to-Delete"
(arXiv 2410.23232): for each evaluation point :math:`x`, the margins
:math:`\phi_i(x)` of N unlearned models and of N oracle models (retrained without the
forget set) are two samples of a one-dimensional distribution; KLoM is the KL
divergence between their binned histograms, computed exactly as the reference
implementation of the data-unlearning benchmark (``compute_binned_KL_div``), so that
the numbers are comparable with published ones:

.. math::

    \mathrm{KLoM}(x) = \sum_{b:\,p_b > 0} p_b \log\frac{p_b}{\tilde q_b},
    \qquad p_b = \frac{c^{U}_b}{\sum_{b'} c^{U}_{b'}},\quad
    \tilde q_b = \frac{q'_b}{\sum_{b'} q'_{b'}},\quad
    q'_b = \begin{cases}\max(q_b, \varepsilon) & p_b > 0\\ q_b & p_b = 0\end{cases},

with :math:`c_b` the counts of unlearned (U) and oracle (O) margins in bin :math:`b`
of :math:`B` equal-width, right-open bins spanning the *combined* range of both
samples at that point (margins clipped to :math:`[-100, 100]` first) and
:math:`q_b = c^O_b / \sum_{b'} c^O_{b'}`. A split (forget, retain, validation) is
summarised by the 95th percentile of KLoM over its points. A point where any margin
is not finite (a diverged model) has no score: its KLoM is NaN.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._validation import check_choice, check_positive, check_range

__all__ = [
    "Selection",
    "binned_kl",
    "klom",
    "klom_percentile",
    "select_and_rescore",
    "split_half_klom",
]

KL_SMOOTHINGS = ("reference", "additive")
"""Names accepted by :func:`binned_kl` and :func:`klom` as ``smoothing``."""


def _reference_counts(s: jax.Array, edges: jax.Array) -> jax.Array:
    """Counts of ``s`` (..., N) in the right-open bins ``[e_{b-1}, e_b)``, b = 1..B.

    ``numpy.digitize(s, edges)`` is the number of edges ``<= s`` (the edges are
    non-decreasing), so the count of bin b is ``#{s >= e_{b-1}} - #{s >= e_b}``;
    samples below the first edge or at/above the last one fall in no bin.
    """
    above = jnp.sum(s[..., :, None] >= edges[..., None, :], axis=-2)  # (..., B + 1)
    return (above[..., :-1] - above[..., 1:]).astype(s.dtype)


@functools.partial(jax.jit, static_argnames=("bins", "smoothing"))
def _binned_kl(p, q, eps, clip, *, bins, smoothing):
    dt = p.dtype
    finite = jnp.all(jnp.isfinite(p), axis=-1) & jnp.all(jnp.isfinite(q), axis=-1)
    p = jnp.clip(p, -clip, clip)
    q = jnp.clip(q, -clip, clip)
    lo = jnp.minimum(p.min(axis=-1), q.min(axis=-1))
    hi = jnp.maximum(p.max(axis=-1), q.max(axis=-1))
    if smoothing == "reference":
        hi = jnp.where(lo >= hi, lo + 1, hi)
        # numpy.linspace(lo, hi, B + 1): i * ((hi - lo) / B) + lo, the last edge exactly hi
        i = jnp.arange(bins + 1, dtype=dt)
        step = ((hi - lo) / bins)[..., None]
        edges = jnp.where(i == bins, hi[..., None], i * step + lo[..., None])
        # P and Q go through the same operations as one stacked array, so that identical
        # histograms give bit-identical probabilities and a divergence of exactly 0
        c = jnp.stack([_reference_counts(p, edges), _reference_counts(q, edges)], axis=-2)
        tot = jnp.sum(c, axis=-1, keepdims=True)
        tp = tot[..., 0, 0]
        pr = c / jnp.where(tot > 0, tot, 1)  # an empty total gives zeros, as in the reference
        ph = pr[..., 0, :]
        qh = jnp.where(ph > 0, jnp.maximum(pr[..., 1, :], eps), pr[..., 1, :])
        # scipy.stats.entropy normalises both arguments before sum p log(p / q)
        pr = jnp.stack([ph, qh], axis=-2)
        pr = pr / jnp.sum(pr, axis=-1, keepdims=True)
        ph, qh = pr[..., 0, :], pr[..., 1, :]
        pos = ph > 0
        terms = jnp.where(pos, ph * jnp.log(jnp.where(pos, ph, 1) / jnp.where(pos, qh, 1)), 0)
        # no P sample in any bin (all at the top edge): NaN, as in the reference
        kl = jnp.where(tp > 0, jnp.sum(terms, axis=-1), jnp.nan)
    else:
        lo = lo[..., None]
        width = jnp.where(hi[..., None] > lo, hi[..., None] - lo, 1.0)

        def counts(s: jax.Array) -> jax.Array:
            idx = jnp.clip(jnp.floor((s - lo) / width * bins).astype(jnp.int32), 0, bins - 1)
            onehot = idx[..., None] == jnp.arange(bins)
            return jnp.sum(onehot, axis=-2).astype(dt)

        ph = (counts(p) + eps) / (p.shape[-1] + bins * eps)
        qh = (counts(q) + eps) / (q.shape[-1] + bins * eps)
        kl = jnp.sum(ph * (jnp.log(ph) - jnp.log(qh)), axis=-1)
    return jnp.where(finite, kl, jnp.nan).astype(dt)


def _check_bins(bins: Any) -> None:
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral):
        raise TypeError(f"bins must be an integer >= 1, got {type(bins).__name__} {bins!r}")
    if bins < 1:
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")


def binned_kl(
    p_samples: jax.Array,
    q_samples: jax.Array,
    *,
    bins: int = 20,
    eps: float = 1e-5,
    clip: float = 100.0,
    smoothing: str = "reference",
) -> jax.Array:
    r"""KL divergence :math:`D(P\,\|\,Q)` estimated from two samples by shared-bin histograms.

    The samples lie along the last axis (any leading axes are independent problems).
    The default (``smoothing="reference"``) is the estimator of the data-unlearning
    benchmark's reference implementation (``compute_binned_KL_div``, which KLoM numbers
    in the literature use), reproduced to floating-point rounding:

    1. clip both samples to :math:`[-\text{clip}, \text{clip}]`;
    2. :math:`B + 1` edges ``numpy.linspace(lo, hi, B + 1)`` over the joint range
       :math:`[\text{lo}, \text{hi}]` of the two samples (:math:`\text{hi} = \text{lo}
       + 1` when all values are equal);
    3. right-open bins :math:`[e_{b-1}, e_b)` as ``numpy.digitize`` assigns them, so a
       sample exactly at the top edge (the joint maximum) falls in no bin and is dropped;
    4. :math:`p_b, q_b` = counts over their own totals; where :math:`p_b > 0` the oracle
       probability is raised to at least :math:`\varepsilon`, and the result renormalised
       (as ``scipy.stats.entropy`` does):

    .. math::

        \hat D = \sum_{b:\,p_b>0} p_b \log\frac{p_b}{\tilde q_b},\qquad
        \tilde q_b = \frac{q'_b}{\sum_{b'} q'_{b'}},\quad
        q'_b = \max(q_b, \varepsilon)\ \text{if}\ p_b > 0,\ \text{else}\ q_b.

    An empty oracle bin under unlearned mass therefore costs about
    :math:`p_b \log(p_b/\varepsilon)`. If no P sample falls in any bin (all of them
    equal the joint maximum) the reference returns NaN, and so does this.

    ``smoothing="additive"`` is an alternative that keeps every sample (the last bin is
    closed) and adds :math:`\varepsilon` to every bin count, :math:`\hat p_b = (c^P_b +
    \varepsilon)/(N_P + B\varepsilon)` and likewise :math:`\hat q_b`; its numbers are
    *not* comparable with published KLoM values (for :math:`P = Q` normal and
    :math:`N = 100` its mean is about 0.48 where the reference gives 0.34).

    **Non-finite input.** A problem (a leading index) whose samples contain a NaN or an
    infinity gets NaN, never a score: a diverged model is not a perfect one. (The
    reference would clip infinities to the clip value.)

    Finite-sample bias: for :math:`P = Q` with every bin well filled, the plug-in
    statistic behaves like :math:`\chi^2_{B-1} / (2 N_{\rm eff})` with
    :math:`N_{\rm eff} = N_P N_Q / (N_P + N_Q)`, a mean of about
    :math:`(B-1)(1/N_P + 1/N_Q)/2` (see the theory page for the values at small N).

    Args:
        p_samples: ``(..., N_P)`` samples of P (e.g. unlearned-model margins), ``N_P >= 1``.
        q_samples: ``(..., N_Q)`` samples of Q (e.g. oracle margins); same leading axes.
        bins: number of bins :math:`B`, an integer ``>= 1``.
        eps: :math:`\varepsilon > 0`: the floor of the oracle probabilities (reference)
            or the count added to every bin (additive).
        clip: values are clipped to ``[-clip, clip]`` before binning (``clip > 0``).
        smoothing: ``"reference"`` (default) or ``"additive"``.

    Returns:
        The estimates, shape ``p_samples.shape[:-1]``, in the samples' floating dtype
        (non-negative, or NaN as described above).

    Raises:
        TypeError: ``bins`` is not an integer (e.g. ``2.5`` or a bool).
        ValueError: ``bins < 1``, ``eps`` or ``clip`` not positive, an unknown
            ``smoothing``, an empty sample, or leading shapes that differ.

    Example:
        >>> import jax
        >>> a = jax.random.normal(jax.random.key(0), (20000,))
        >>> b = 1.0 + jax.random.normal(jax.random.key(1), (20000,))
        >>> round(float(binned_kl(a, b, bins=50)), 1)   # exact value 0.5
        0.5
        >>> float(binned_kl(jnp.array([0.0, float("nan")]), jnp.array([0.0, 1.0])))
        nan
    """
    _check_bins(bins)
    check_positive("eps", eps)
    check_positive("clip", clip)
    check_choice("smoothing", smoothing, KL_SMOOTHINGS)
    p = jnp.asarray(p_samples)
    q = jnp.asarray(q_samples)
    for name, a in (("p_samples", p), ("q_samples", q)):
        if a.ndim < 1 or a.shape[-1] < 1:
            raise ValueError(
                f"{name} needs at least one sample on the last axis, got shape {a.shape}"
            )
    if p.shape[:-1] != q.shape[:-1]:
        raise ValueError(f"leading shapes differ: p {p.shape}, q {q.shape}")
    dt = jnp.result_type(p.dtype, q.dtype, jnp.float32)
    return _binned_kl(p.astype(dt), q.astype(dt), eps, clip, bins=int(bins), smoothing=smoothing)


def klom(
    unlearned_margins: jax.Array,
    oracle_margins: jax.Array,
    *,
    bins: int = 20,
    eps: float = 1e-5,
    clip: float = 100.0,
    smoothing: str = "reference",
) -> jax.Array:
    r"""KLoM of every evaluation point: :math:`D(\text{unlearned}\,\|\,\text{oracle})`.

    The reference estimator of :func:`binned_kl` applied per point to the margins of
    the two ensembles (use the margins of :func:`ascentjax.nets.classifier_margins`, correct
    logit minus the log-sum-exp of the others, to compare with published numbers). A
    point where any of the :math:`N_U + N_O` margins is NaN or infinite (a diverged
    model) gets NaN, never a score.

    Args:
        unlearned_margins: ``(N_U, P)`` margins of the unlearned models (model axis first,
            as returned by :func:`ascentjax.nets.ensemble_margins`).
        oracle_margins: ``(N_O, P)`` margins of the oracle models.
        bins, eps, clip, smoothing: as in :func:`binned_kl` (defaults: 20 bins,
            :math:`\varepsilon = 10^{-5}`, margins clipped to :math:`\pm 100`, the
            reference estimator).

    Returns:
        ``(P,)`` KLoM values.

    Raises:
        ValueError: the margins are not ``(N_U, P)`` and ``(N_O, P)`` with the same
            ``P`` and at least one model each (and the checks of :func:`binned_kl`).

    Example:
        >>> import jax
        >>> u = jax.random.normal(jax.random.key(0), (100, 3))
        >>> klom(u, u).shape, float(klom(u, u).max())
        ((3,), 0.0)
    """
    u = jnp.asarray(unlearned_margins)
    o = jnp.asarray(oracle_margins)
    if u.ndim != 2 or o.ndim != 2 or u.shape[1] != o.shape[1]:
        raise ValueError(
            f"margins must be (N_U, P) and (N_O, P) with the same P, got {u.shape}, {o.shape}"
        )
    return binned_kl(u.T, o.T, bins=bins, eps=eps, clip=clip, smoothing=smoothing)


def klom_percentile(scores: jax.Array, q: float = 95.0) -> jax.Array:
    r"""The ``q``-th percentile of per-point KLoM scores (the paper reports ``q = 95``).

    .. math::
        \mathrm{KLoM}_{q} = \operatorname{percentile}_q\{\mathrm{KLoM}(p) : p \in \text{split}\}

    A split holding a NaN score (a point with a diverged model) has NaN percentile.

    Args:
        scores: per-point KLoM scores, shape ``(..., P)`` with ``P >= 1`` points on the
            last axis.
        q: the percentile, in ``[0, 100]``.

    Returns:
        The percentile over the last axis, shape ``(...)``.

    Raises:
        ValueError: if ``q`` is outside ``[0, 100]`` or ``scores`` has no points.

    Example:
        >>> import jax.numpy as jnp
        >>> float(klom_percentile(jnp.arange(101.0)))
        95.0
    """
    check_range("q", q, low=0.0, high=100.0)
    scores = jnp.asarray(scores)
    if scores.ndim == 0 or scores.shape[-1] == 0:
        raise ValueError(
            f"scores must hold at least one point on the last axis, got {scores.shape}"
        )
    return jnp.percentile(scores, q, axis=-1)


def split_half_klom(
    unlearned_margins: Float[ArrayLike, "n_u p"],
    oracle_margins: Float[ArrayLike, "n_o p"],
    points: Int[ArrayLike, " k"] | None = None,
    *,
    q: float = 95.0,
    bins: int = 20,
    eps: float = 1e-5,
    clip: float = 100.0,
    smoothing: str = "reference",
) -> Float[Array, 2]:
    r"""The KLoM percentile on two disjoint halves of the seeds.

    With :math:`h = \lfloor \min(N_U, N_O) / 2 \rfloor`, half A compares unlearned models
    :math:`0..h-1` with oracle models :math:`0..h-1`, half B models :math:`h..2h-1` with
    oracle models :math:`h..2h-1`; each half's per-point KLoM (:func:`klom`) is summarised
    by its ``q``-th percentile over ``points`` (:func:`klom_percentile`). Tuning a
    method on half A and reporting half B (:func:`select_and_rescore`) measures the
    selection bias of tuning on the same seeds one reports.

    Args:
        unlearned_margins: ``(N_U, P)`` margins of the unlearned models.
        oracle_margins: ``(N_O, P)`` margins of the oracle models; ``min(N_U, N_O) >= 2``.
        points: indices of the points to summarise (e.g. the forget set); default all.
        q: the percentile, in ``[0, 100]``.
        bins, eps, clip, smoothing: as in :func:`binned_kl`.

    Returns:
        ``[score_A, score_B]``.

    Example:
        >>> import jax
        >>> u = jax.random.normal(jax.random.key(0), (8, 5))
        >>> split_half_klom(u, u).tolist()
        [0.0, 0.0]
    """
    u = jnp.asarray(unlearned_margins)
    o = jnp.asarray(oracle_margins)
    if u.ndim != 2 or o.ndim != 2 or min(u.shape[0], o.shape[0]) < 2:
        raise ValueError(
            f"margins must be (N_U, P) and (N_O, P) with at least 2 models each, "
            f"got {u.shape}, {o.shape}"
        )
    h = min(u.shape[0], o.shape[0]) // 2
    kw = dict(bins=bins, eps=eps, clip=clip, smoothing=smoothing)
    halves = jnp.stack([klom(u[:h], o[:h], **kw), klom(u[h : 2 * h], o[h : 2 * h], **kw)])
    if points is not None:
        halves = halves[:, jnp.asarray(points)]
    return klom_percentile(halves, q)


class Selection(NamedTuple):
    """The configuration chosen on one half of the seeds and its score on the other.

    Attributes:
        index: the selected configuration (``-1`` when none is eligible).
        on_selection: its score on the selection half (NaN when none).
        on_held_out: its score on the held-out half (NaN when none).
    """

    index: Int[Array, ""]
    on_selection: Float[Array, ""]
    on_held_out: Float[Array, ""]


def select_and_rescore(
    selection_scores: Float[ArrayLike, " c"],
    held_out_scores: Float[ArrayLike, " c"],
    *,
    valid: Bool[ArrayLike, " c"] | None = None,
) -> Selection:
    r"""Tune on one half of the seeds, report on the other (the Ascent Forgets Illusion).

    Picks :math:`c^\star = \arg\min_c s^{A}_c` over the eligible configurations (those
    with a finite selection score and ``valid``; a NaN, e.g. a diverged run, is never
    selected; ties go to the first) and returns :math:`s^A_{c^\star}` with the held-out
    score :math:`s^B_{c^\star}` of the same configuration. Because :math:`s^A_{c^\star}`
    is a minimum of noisy estimates it is biased low; :math:`s^B_{c^\star}` is not.

    Args:
        selection_scores: ``(C,)`` scores on the selection seeds (lower is better), e.g.
            the first entry of :func:`split_half_klom` for every grid point.
        held_out_scores: ``(C,)`` scores of the same configurations on the held-out seeds.
        valid: optional ``(C,)`` boolean mask of eligible configurations.

    Returns:
        A :class:`Selection` (index ``-1`` and NaN scores when nothing is eligible).

    Example:
        >>> import jax.numpy as jnp
        >>> s = select_and_rescore(jnp.array([0.5, jnp.nan, 0.25]), jnp.array([1.0, 0., 0.75]))
        >>> int(s.index), float(s.on_selection), float(s.on_held_out)
        (2, 0.25, 0.75)
    """
    a = jnp.asarray(selection_scores)
    b = jnp.asarray(held_out_scores)
    if a.ndim != 1 or a.shape != b.shape or a.shape[0] < 1:
        raise ValueError(
            f"selection_scores and held_out_scores must be 1-D of one non-empty shape, "
            f"got {a.shape}, {b.shape}"
        )
    ok = jnp.isfinite(a)
    if valid is not None:
        ok = ok & jnp.broadcast_to(jnp.asarray(valid, bool), a.shape)
    i = jnp.argmin(jnp.where(ok, a, jnp.inf))
    some = jnp.any(ok)
    nan = jnp.asarray(jnp.nan, a.dtype)
    return Selection(
        index=jnp.where(some, i, -1),
        on_selection=jnp.where(some, a[i], nan),
        on_held_out=jnp.where(some, b[i].astype(a.dtype), nan),
    )
