r"""KLoM (KL divergence of margins), forget sets, datamodels and unlearning on ensembles.

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

All the unlearning methods act on a whole ensemble at once (``vmap`` over the models,
``lax.scan`` over epochs and steps) and return the parameters after every epoch, so
the epochs axis of a hyperparameter grid costs one run.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._nets import ensemble_margins, train_ensemble
from ._validation import check_choice, check_count, check_nonnegative, check_positive, check_range

__all__ = [
    "binned_kl",
    "klom",
    "klom_percentile",
    "random_forget_set",
    "retain_indices",
    "datamodel_subsets",
    "fit_datamodels",
    "estimate_datamodels",
    "pca_forget_sets",
    "unlearn_ensemble",
    "retrain_oracle",
]

UNLEARNING_METHODS = ("ga", "gda", "scrub")
"""Names accepted by :func:`unlearn_ensemble`: gradient ascent, gradient descent/ascent,
SCRUB."""

KL_SMOOTHINGS = ("reference", "additive")
"""Names accepted by :func:`binned_kl` and :func:`klom` as ``smoothing``."""


# ----------------------------------------------------------------------------- KLoM
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
    for name, v in (("p_samples", p), ("q_samples", q)):
        if v.ndim == 0 or v.shape[-1] == 0:
            raise ValueError(f"{name} needs at least one sample on its last axis, got {v.shape}")
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
    the two ensembles (use the margins of :func:`ascentjax.classifier_margins`, correct
    logit minus the log-sum-exp of the others, to compare with published numbers). A
    point where any of the :math:`N_U + N_O` margins is NaN or infinite (a diverged
    model) gets NaN, never a score.

    Args:
        unlearned_margins: ``(N_U, P)`` margins of the unlearned models (model axis first,
            as returned by :func:`ascentjax.ensemble_margins`).
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


# ----------------------------------------------------------------------------- forget sets
def random_forget_set(key: jax.Array, n: int, size: int) -> jax.Array:
    """A uniformly random forget set: ``size`` distinct indices of ``range(n)``, sorted.

    Example:
        >>> import jax
        >>> random_forget_set(jax.random.key(0), 10, 3).shape
        (3,)
    """
    check_count("n", n)
    check_count("size", size)
    if size >= n:
        raise ValueError(f"size must be < n = {n} (something must be retained), got {size}")
    return jnp.sort(jax.random.permutation(key, n)[:size])


def retain_indices(n: int, forget: Any) -> np.ndarray:
    """The complement of ``forget`` in ``range(n)`` (NumPy: its length depends on values).

    Example:
        >>> retain_indices(5, [1, 3]).tolist()
        [0, 2, 4]
    """
    mask = np.ones(n, dtype=bool)
    mask[np.asarray(forget, dtype=np.int64)] = False
    return np.flatnonzero(mask)


def datamodel_subsets(key: jax.Array, n_models: int, n: int, alpha: float) -> jax.Array:
    r"""Random training subsets for datamodels: ``(n_models, m)`` indices, :math:`m =
    \mathrm{round}(\alpha n)`, each row a uniformly random subset (sorted).

    Example:
        >>> import jax
        >>> datamodel_subsets(jax.random.key(0), 4, 10, 0.5).shape
        (4, 5)
    """
    check_count("n_models", n_models)
    check_count("n", n)
    check_range("alpha", alpha, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    m = max(1, int(round(alpha * n)))
    keys = jax.random.split(key, n_models)
    return jax.vmap(lambda k: jnp.sort(jax.random.permutation(k, n)[:m]))(keys)


def fit_datamodels(masks: jax.Array, outputs: jax.Array, ridge: float = 1.0) -> jax.Array:
    r"""Linear datamodels by ridge regression, in closed form.

    With :math:`M` models, inclusion indicators :math:`X \in \{0,1\}^{M\times n}` and
    outputs :math:`Y \in \mathbb R^{M\times P}` (e.g. margins of each model on P target
    points), both centred over the models, the datamodel matrix is

    .. math::

        \Theta = \arg\min_\Theta \|Y_c - X_c\Theta\|_F^2 + \lambda\|\Theta\|_F^2
        = X_c^\top (X_c X_c^\top + \lambda I_M)^{-1} Y_c \in \mathbb R^{n\times P},

    the dual (kernel) form, an :math:`M\times M` solve, equal to the primal
    :math:`(X_c^\top X_c + \lambda I_n)^{-1}X_c^\top Y_c` for :math:`\lambda > 0`.
    :math:`\Theta_{ij}` estimates how much including training example :math:`i`
    changes the output on target :math:`j`.

    Args:
        masks: ``(M, n)`` inclusion indicators (0/1).
        outputs: ``(M, P)`` model outputs.
        ridge: :math:`\lambda > 0`.

    Returns:
        ``(n, P)`` datamodel matrix.

    Example:
        >>> import jax.numpy as jnp
        >>> X = jnp.array([[1., 0.], [0., 1.], [1., 1.], [0., 0.]])
        >>> fit_datamodels(X, X @ jnp.array([[2.], [-1.]]), ridge=1e-6).round(3).ravel()
        Array([ 2., -1.], dtype=float32)
    """
    check_positive("ridge", ridge)
    X = jnp.asarray(masks)
    Y = jnp.asarray(outputs)
    dt = jnp.result_type(X.dtype, Y.dtype, jnp.float32)
    X = X.astype(dt)
    Y = Y.astype(dt)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"masks (M, n) and outputs (M, P) need the same M: {X.shape}, {Y.shape}")
    Xc = X - X.mean(axis=0)
    Yc = Y - Y.mean(axis=0)
    K = Xc @ Xc.T + ridge * jnp.eye(X.shape[0], dtype=dt)
    return Xc.T @ jnp.linalg.solve(K, Yc)


def estimate_datamodels(
    key: jax.Array,
    model: nn.Module,
    x: jax.Array,
    y: jax.Array,
    *,
    n_models: int,
    alpha: float = 0.5,
    ridge: float = 1.0,
    **train_kwargs: Any,
) -> jax.Array:
    r"""The train × train datamodel (influence) matrix from models trained on subsets.

    Trains ``n_models`` models (one ensemble, :func:`ascentjax.train_ensemble`) on
    random :math:`\alpha`-fraction subsets of the training set, records every model's
    margin on every training example and regresses them on the inclusion indicators
    (:func:`fit_datamodels`). Cost: ``n_models`` trainings of
    ``round(alpha * n)`` examples for ``epochs`` epochs each, plus an :math:`M\times M`
    solve and an :math:`n\times M\times n` product; the estimate's noise falls like
    :math:`1/\sqrt{M}` and :math:`M \gtrsim n` models are needed before individual
    entries are meaningful (here only the leading principal components are used).

    Args:
        key: PRNG key (subsets, initialisations, data orders).
        model: the flax classifier.
        x, y: the training set.
        n_models: number of subset models :math:`M`.
        alpha: subset fraction in (0, 1).
        ridge: ridge strength of the regression.
        **train_kwargs: passed to :func:`ascentjax.train_ensemble` (``epochs`` required).

    Returns:
        ``(n, n)`` matrix :math:`\Theta`; column :math:`j` is the datamodel of
        training example :math:`j`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax import MLP
        >>> x = jax.random.normal(jax.random.key(1), (40, 4)); y = (x[:, 0] > 0).astype(int)
        >>> estimate_datamodels(jax.random.key(0), MLP((8,), 2), x, y, n_models=8,
        ...                     epochs=1, batch_size=10).shape
        (40, 40)
    """
    n = jnp.asarray(x).shape[0]
    k_sub, k_train = jax.random.split(key)
    subsets = datamodel_subsets(k_sub, n_models, n, alpha)
    params = train_ensemble(
        k_train, model, x, y, n_models=n_models, indices=subsets, **train_kwargs
    )
    marg = ensemble_margins(model, params, x, y)  # (M, n)
    masks = jnp.zeros((n_models, n), marg.dtype).at[jnp.arange(n_models)[:, None], subsets].set(1)
    return fit_datamodels(masks, marg, ridge)


def pca_forget_sets(matrix: jax.Array, size: int, components: int = 2) -> jax.Array:
    r"""Non-random forget sets: extreme projections on the datamodel matrix's top PCs.

    Each training example :math:`j` is represented by its datamodel (column
    :math:`\Theta_{:,j}`); the columns are centred and the principal components taken
    by SVD. For component :math:`k` the forget sets are the ``size`` examples with the
    highest and the ``size`` with the lowest projection (score :math:`U_{jk}S_k`). The
    sign of each component is fixed so that its largest-magnitude score is positive.

    Args:
        matrix: ``(n, n)`` datamodel matrix (:func:`estimate_datamodels`).
        size: examples per forget set.
        components: number of leading components (paper: 2).

    Returns:
        ``(components, 2, size)`` indices: ``[k, 0]`` top, ``[k, 1]`` bottom of PC ``k+1``.

    Example:
        >>> import jax
        >>> M = jax.random.normal(jax.random.key(0), (30, 30))
        >>> pca_forget_sets(M, 5).shape
        (2, 2, 5)
    """
    check_count("size", size)
    check_count("components", components)
    A = jnp.asarray(matrix).T  # rows: examples (their datamodels)
    if A.ndim != 2 or size > A.shape[0] or components > min(A.shape):
        raise ValueError(f"size/components too large for a matrix of shape {A.shape}")
    A = A - A.mean(axis=0)
    U, S, _ = jnp.linalg.svd(A, full_matrices=False)
    scores = (U[:, :components] * S[:components]).T  # (components, n)
    big = jnp.take_along_axis(scores, jnp.argmax(jnp.abs(scores), axis=1)[:, None], axis=1)
    scores = scores * jnp.sign(jnp.where(big == 0, 1.0, big))
    order = jnp.argsort(-scores, axis=1)
    return jnp.stack([order[:, :size], order[:, ::-1][:, :size]], axis=1)


# ----------------------------------------------------------------------------- unlearning
def retrain_oracle(
    key: jax.Array, model: nn.Module, x: jax.Array, y: jax.Array, retain: Any, **train_kwargs: Any
) -> Any:
    """The retrain oracle: an ensemble trained from scratch on the retain set only.

    Same training recipe as the original models (:func:`ascentjax.train_ensemble`,
    with ``indices=retain``); use a key independent of the original models'.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax import MLP
        >>> x = jax.random.normal(jax.random.key(1), (40, 4)); y = (x[:, 0] > 0).astype(int)
        >>> p = retrain_oracle(jax.random.key(0), MLP((8,), 2), x, y, jnp.arange(30),
        ...                    n_models=3, epochs=1, batch_size=10)
        >>> p["params"]["Dense_0"]["kernel"].shape
        (3, 4, 8)
    """
    return train_ensemble(key, model, x, y, indices=jnp.asarray(retain), **train_kwargs)


def _ce(model: nn.Module, p: Any, xb: jax.Array, yb: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(model.apply(p, xb), yb).mean()


def _distill_kl(model: nn.Module, p: Any, pt: Any, xb: jax.Array, temp: float) -> jax.Array:
    """SCRUB's DistillKL: :math:`T^2\\,\\mathrm{KL}(p_t^{(T)}\\|p_s^{(T)})`, batch mean."""
    ls = jax.nn.log_softmax(model.apply(p, xb) / temp)
    lt = jax.nn.log_softmax(model.apply(pt, xb) / temp)
    return temp**2 * jnp.mean(jnp.sum(jnp.exp(lt) * (lt - ls), axis=-1))


@functools.partial(
    jax.jit,
    static_argnames=(
        "model",
        "method",
        "epochs",
        "batch_size",
        "descent_steps",
        "scrub_max_epochs",
    ),
)
def _unlearn(
    key,
    params,
    x,
    y,
    forget,
    retain,
    learning_rate,
    ascent_scale,
    temperature,
    scrub_alpha,
    scrub_gamma,
    *,
    model,
    method,
    epochs,
    batch_size,
    descent_steps,
    scrub_max_epochs,
):
    nf, nr = forget.shape[0], retain.shape[0]
    bf = min(batch_size, nf)
    br = min(batch_size, nr)
    f_steps = nf // bf
    r_steps = descent_steps

    def one(k: jax.Array, p0: Any) -> Any:
        teacher = p0

        def sgd(p: Any, g: Any, lr: jax.Array) -> Any:
            return jax.tree_util.tree_map(lambda w, d: w - lr * d, p, g)

        def epoch(p: Any, inp: tuple[jax.Array, jax.Array]) -> tuple[Any, Any]:
            ke, e = inp
            kf, kr = jax.random.split(ke)
            fb = forget[jax.random.permutation(kf, nf)[: f_steps * bf].reshape(f_steps, bf)]
            if method != "ga" and r_steps:
                rk = jax.random.split(kr, r_steps)
                rb = retain[jax.vmap(lambda kk: jax.random.choice(kk, nr, (br,), False))(rk)]

            def up(p: Any, idx: jax.Array) -> tuple[Any, None]:
                xb, yb = x[idx], y[idx]
                if method == "scrub":
                    g = jax.grad(lambda q: -_distill_kl(model, q, teacher, xb, temperature))(p)
                    on = (e < scrub_max_epochs).astype(learning_rate.dtype)
                    return sgd(p, g, learning_rate * on), None
                g = jax.grad(lambda q: -_ce(model, q, xb, yb))(p)
                return sgd(p, g, learning_rate * ascent_scale), None

            def down(p: Any, idx: jax.Array) -> tuple[Any, None]:
                xb, yb = x[idx], y[idx]
                if method == "scrub":

                    def lossf(q: Any) -> jax.Array:
                        return scrub_alpha * _distill_kl(
                            model, q, teacher, xb, temperature
                        ) + scrub_gamma * _ce(model, q, xb, yb)

                    g = jax.grad(lossf)(p)
                else:
                    g = jax.grad(lambda q: _ce(model, q, xb, yb))(p)
                return sgd(p, g, learning_rate), None

            p, _ = jax.lax.scan(up, p, fb)
            if method != "ga" and r_steps:
                p, _ = jax.lax.scan(down, p, rb)
            return p, p

        keys = jax.random.split(k, epochs)
        _, traj = jax.lax.scan(epoch, p0, (keys, jnp.arange(epochs)))
        return traj

    n_models = jax.tree_util.tree_leaves(params)[0].shape[0]
    traj = jax.vmap(one)(jax.random.split(key, n_models), params)
    return jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), traj)


def unlearn_ensemble(
    key: jax.Array,
    model: nn.Module,
    params: Any,
    x: jax.Array,
    y: jax.Array,
    forget: jax.Array,
    retain: jax.Array,
    *,
    method: str,
    learning_rate: float,
    epochs: int,
    batch_size: int = 64,
    ascent_scale: float = 1.0,
    descent_steps: int | None = None,
    scrub_max_epochs: int | None = None,
    temperature: float = 4.0,
    scrub_alpha: float = 1.0,
    scrub_gamma: float = 1.0,
) -> Any:
    r"""Unlearn a forget set from every model of an ensemble; parameters after each epoch.

    Plain SGD with step size :math:`\eta` (``learning_rate``), every model with its own
    data order. One epoch is:

    * ``"ga"`` (gradient ascent): one pass over the forget set :math:`F` in minibatches,
      each step :math:`\theta \leftarrow \theta + \eta\, r\, \nabla \ell_F(\theta)`
      (:math:`r` = ``ascent_scale``, :math:`\ell` the mean cross-entropy);
    * ``"gda"`` (gradient descent/ascent, the paper's Sec. 3): the same ascent pass on
      :math:`F`, then ``descent_steps`` descent steps on random retain minibatches,
      :math:`\theta \leftarrow \theta - \eta\nabla\ell_R(\theta)`; ``ascent_scale``
      :math:`r` is the ascent/descent mix (ratio of the ascent to the descent step);
    * ``"scrub"`` (Kurmanji et al., 2023, "Towards Unbounded Machine Unlearning"): the
      student starts at the original model, which stays the frozen teacher
      :math:`\theta_0`; a *max-step* pass over :math:`F` ascends
      :math:`T^2\,\mathrm{KL}(p_{\theta_0}^{(T)}\,\|\,p_\theta^{(T)})` (temperature-
      :math:`T` softmaxes, their ``DistillKL``) during the first ``scrub_max_epochs``
      epochs only, then ``descent_steps`` *min-steps* on retain batches descend
      :math:`\alpha\,T^2\mathrm{KL}(p_{\theta_0}^{(T)}\|p_\theta^{(T)}) + \gamma\,\ell_R`.
      Simplifications (documented on the theory page): plain SGD instead of their
      SGD with momentum and weight decay, one step size for both phases.

    The forget pass uses batches of ``min(batch_size, |F|)`` and drops the remainder;
    retain batches (``min(batch_size, |R|)`` each) are drawn without replacement
    within a batch.

    Args:
        key: PRNG key (per-model, per-epoch data orders).
        model: the flax classifier.
        params: the ensemble to unlearn (leading axis N).
        x, y: the training set.
        forget: ``(|F|,)`` forget indices.
        retain: ``(|R|,)`` retain indices.
        method: ``"ga"``, ``"gda"`` or ``"scrub"``.
        learning_rate: :math:`\eta > 0` (may be traced).
        epochs: number of epochs :math:`E`.
        batch_size: minibatch size.
        ascent_scale: :math:`r \ge 0`, ascent step relative to :math:`\eta` (GA, GDA).
        descent_steps: retain steps per epoch (GDA, SCRUB); default one pass,
            ``|R| // batch_size``.
        scrub_max_epochs: epochs with max-steps (SCRUB); default ``ceil(E / 2)``.
        temperature: SCRUB distillation temperature :math:`T`.
        scrub_alpha, scrub_gamma: SCRUB min-step weights :math:`\alpha, \gamma`.

    Returns:
        The parameters after every epoch: leaves of shape ``(E, N, ...)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax import MLP, train_ensemble
        >>> x = jax.random.normal(jax.random.key(1), (40, 4)); y = (x[:, 0] > 0).astype(int)
        >>> net = MLP((8,), 2)
        >>> p = train_ensemble(jax.random.key(0), net, x, y, n_models=3, epochs=1,
        ...                    batch_size=10)
        >>> t = unlearn_ensemble(jax.random.key(2), net, p, x, y, jnp.arange(5),
        ...                      jnp.arange(5, 40), method="ga", learning_rate=0.1, epochs=4)
        >>> t["params"]["Dense_0"]["kernel"].shape
        (4, 3, 4, 8)
    """
    check_choice("method", method, UNLEARNING_METHODS)
    check_positive("learning_rate", learning_rate)
    check_count("epochs", epochs)
    check_count("batch_size", batch_size)
    check_nonnegative("ascent_scale", ascent_scale)
    check_positive("temperature", temperature)
    check_nonnegative("scrub_alpha", scrub_alpha)
    check_nonnegative("scrub_gamma", scrub_gamma)
    forget = jnp.asarray(forget)
    retain = jnp.asarray(retain)
    if forget.ndim != 1 or forget.shape[0] < 1 or retain.ndim != 1 or retain.shape[0] < 1:
        raise ValueError(f"forget and retain must be non-empty 1-D: {forget.shape}, {retain.shape}")
    if descent_steps is None:
        descent_steps = max(1, retain.shape[0] // batch_size)
    check_count("descent_steps", descent_steps, minimum=0)
    if scrub_max_epochs is None:
        scrub_max_epochs = (epochs + 1) // 2
    check_count("scrub_max_epochs", scrub_max_epochs, minimum=0)
    x = jnp.asarray(x)
    dt = jax.tree_util.tree_leaves(params)[0].dtype
    return _unlearn(
        key,
        params,
        x,
        jnp.asarray(y),
        forget,
        retain,
        jnp.asarray(learning_rate, dt),
        jnp.asarray(ascent_scale, dt),
        jnp.asarray(temperature, dt),
        jnp.asarray(scrub_alpha, dt),
        jnp.asarray(scrub_gamma, dt),
        model=model,
        method=method,
        epochs=int(epochs),
        batch_size=int(batch_size),
        descent_steps=int(descent_steps),
        scrub_max_epochs=int(scrub_max_epochs),
    )
