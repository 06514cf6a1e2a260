"""App. B's phase diagram: where GDA-then-fine-tune misses the oracle, over ratio x count."""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from jaxtyping import Array, Float

from .._validation import check_nonnegative, check_positive
from ._basins import default_tolerances, find_minima
from ._data import Data, Weights, weights
from ._landscape import grid
from ._model import OutputMap, check_theta, float_dtype, loss, resolve_data
from ._training import descend, gda_then_finetune

__all__ = ["PhaseDiagram", "critical_gda_weight", "oracles", "phase_diagram"]


class PhaseDiagram(NamedTuple):
    """GDA-then-fine-tune from one model over a grid of step-size ratios and forget counts.

    Fields (``P`` ratios, ``K`` forget counts):

    * ``ratios``: the ascent/descent step-size ratios :math:`r`, shape ``(P,)``.
    * ``forget_counts``: copies :math:`k` of the last point forgotten, shape ``(K,)``.
    * ``gda_weight_at_last``: the GDA weight :math:`m_n - (1 + r) k` of the last point,
      shape ``(P, K)``.
    * ``gda_solution``: the (polished) GDA endpoint, shape ``(P, K, 2)``.
    * ``finetuned``: the (polished) endpoint of fine-tuning it on the retain set,
      shape ``(P, K, 2)``.
    * ``finetuned_retain_loss``: the retain loss there, shape ``(P, K)``.
    * ``oracles``: the oracle of each count (lowest minimum of its retain objective),
      shape ``(K, 2)``.
    * ``oracle_losses``: the retain loss of each oracle, shape ``(K,)``.
    * ``failure``: whether the fine-tuned model misses its oracle by more than the
      tolerance (trapped), shape ``(P, K)``.
    """

    ratios: Array
    forget_counts: Array
    gda_weight_at_last: Array
    gda_solution: Array
    finetuned: Array
    finetuned_retain_loss: Array
    oracles: Array
    oracle_losses: Array
    failure: Array

    @property
    def retain_loss_gap(self) -> Float[Array, "P K"]:
        """Retain loss of the fine-tuned model minus the oracle's, shape ``(P, K)``."""
        return self.finetuned_retain_loss - self.oracle_losses

    def smallest_failing_ratio(self) -> Float[Array, " K"]:
        """Per forget count, the smallest ratio on the grid that traps (NaN if none)."""
        r = jnp.where(self.failure, self.ratios[:, None], jnp.inf)
        low = jnp.min(r, axis=0)
        return jnp.where(jnp.isfinite(low), low, jnp.nan)


def _start(theta0: ArrayLike, data: Data | None) -> tuple[Array, jnp.dtype, Data]:
    check_theta(theta0)
    theta0 = jnp.asarray(theta0)
    dt = float_dtype(theta0)
    return theta0, dt, resolve_data(data, dt)


def _vector(name: str, values: ArrayLike, size: str) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} must have shape ({size},) with {size} >= 1, got {v.shape}")
    return v


def oracles(
    forget_counts: ArrayLike,
    data: Data | None = None,
    *,
    inits: Float[ArrayLike, "S 2"] | None = None,
    steps: int = 10_000,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
) -> tuple[Float[Array, "K 2"], Float[Array, " K"]]:
    """The oracle (lowest minimum of the retain objective) of each forget count.

    Args:
        forget_counts: copies of the last point forgotten, shape ``(K,)``.
        data: the data (default :func:`data`).
        inits: initialisations searched by :func:`find_minima` (default a 24 x 24
            :func:`grid`).
        steps: gradient-descent steps.
        lam: ridge strength.
        output_map: see :func:`get_output_map`.

    Returns:
        ``(oracles, losses)`` of shapes ``(K, 2)`` and ``(K,)``.

    Raises:
        ValueError: if the search finds no minimum for some count.

    Example:
        >>> import numpy as np, ascentjax as aj
        >>> th, _ = aj.toy.oracles([0, 2], steps=3000)
        >>> np.asarray(th, float).round(2).tolist()
        [[1.35, -0.25], [1.29, -0.25]]
    """
    counts = _vector("forget_counts", forget_counts, "K")
    if inits is None:
        dt = jnp.zeros(()).dtype if data is None else float_dtype(data.inputs)
        inits = grid(n_a=24, n_b=24, dtype=dt)[2]
    inits = jnp.asarray(inits)
    data = resolve_data(data, inits.dtype)
    forget = np.zeros((counts.size, data.inputs.shape[0]))
    forget[:, -1] = counts
    ret = weights(data.multiplicities, forget, 0.0).retain  # (K, n)
    kw = dict(lam=lam, output_map=output_map)
    ends = descend(inits[None], ret[:, None], data, steps=steps, **kw)
    minima, losses = [], []
    for i, k in enumerate(counts):
        found = find_minima(ret[i], inits, data, endpoints=ends[i], **kw)
        if found.minima.shape[0] == 0:
            raise ValueError(f"no minimum of the retain objective found for forget count {k:g}")
        minima.append(found.minima[0])
        losses.append(found.losses[0])
    return jnp.stack(minima), jnp.stack(losses)


def phase_diagram(
    theta0: Float[ArrayLike, " 2"],
    ratios: Float[ArrayLike, " P"],
    forget_counts: ArrayLike | None = None,
    data: Data | None = None,
    *,
    steps: int = 10_000,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    tol: float | None = None,
    oracle_inits: Float[ArrayLike, "S 2"] | None = None,
    polish_iterations: int = 50,
) -> PhaseDiagram:
    """Run :func:`gda_then_finetune` from ``theta0`` over every (ratio, forget count).

    For ratio :math:`r` and count :math:`k` (copies of the last point forgotten) GDA
    descends :math:`L_{w^{\\text{GDA}}}`, fine-tuning then descends the retain objective;
    both endpoints are :func:`polish`-ed. The run is *trapped* when the fine-tuned model is
    farther than ``tol`` from the oracle of count :math:`k` (:func:`oracles`). All
    :math:`P K` runs are one batch.

    Args:
        theta0: the starting model (typically the pretrained minimum), shape ``(2,)``.
        ratios: ascent/descent step-size ratios :math:`r \\ge 0`, shape ``(P,)``.
        forget_counts: counts :math:`k`, shape ``(K,)`` (default ``0, 1, ..., m_n``).
        data: the data (default :func:`data` in ``theta0``'s dtype).
        steps: descent steps of each stage.
        lam: ridge strength.
        output_map: see :func:`get_output_map`.
        tol: distance to the oracle that counts as a miss (default: :func:`find_minima`'s
            clustering distance for the dtype).
        oracle_inits: initialisations of the oracle search (see :func:`oracles`).
        polish_iterations: :func:`polish` iterations after each stage.

    Returns:
        A :class:`PhaseDiagram`.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> pd = aj.toy.phase_diagram(jnp.array([1.346, -0.249]), [1.0, 3.0], [1, 2],
        ...                           steps=4000)
        >>> pd.failure.tolist()  # rows: r = 1, 3; columns: k = 1, 2
        [[False, True], [True, True]]
    """
    theta0, dt, data = _start(theta0, data)
    r = _vector("ratios", ratios, "P")
    check_nonnegative("ratios", r)
    m_last = float(data.multiplicities[-1])
    counts = np.arange(int(m_last) + 1) if forget_counts is None else np.asarray(forget_counts)
    counts = np.asarray(counts, dtype=float)
    if (
        counts.ndim != 1
        or counts.size == 0
        or not np.all(np.isfinite(counts))
        or np.any(counts != np.round(counts))
        or np.any((counts < 0) | (counts > m_last))
    ):
        raise ValueError(
            f"forget_counts must be integers in [0, {m_last:g}] of shape (K,) with K >= 1, "
            f"got {counts.tolist()}"
        )
    counts = counts.astype(int)
    tol = default_tolerances(dt)[1] if tol is None else tol
    check_positive("tol", tol)
    kw = dict(lam=lam, output_map=output_map)
    forget = np.zeros((1, counts.size, data.inputs.shape[0]))
    forget[..., -1] = counts
    w = weights(data.multiplicities, forget, r[:, None])  # (P, K, n)
    gda, ft = gda_then_finetune(
        theta0, w, data, steps=steps, polish_iterations=polish_iterations, **kw
    )
    orc, orc_loss = oracles(counts, data, inits=oracle_inits, steps=steps, **kw)
    return PhaseDiagram(
        ratios=jnp.asarray(r, dt),
        forget_counts=jnp.asarray(counts),
        gda_weight_at_last=w.gda[..., -1],
        gda_solution=gda,
        finetuned=ft,
        finetuned_retain_loss=loss(ft, w.retain, data, **kw),
        oracles=orc,
        oracle_losses=orc_loss,
        failure=jnp.linalg.norm(ft - orc, axis=-1) > tol,
    )


def critical_gda_weight(
    theta0: Float[ArrayLike, " 2"],
    minimum: Float[ArrayLike, " 2"],
    candidates: Float[ArrayLike, " C"],
    data: Data | None = None,
    *,
    steps: int = 10_000,
    lam: float = 0.1,
    output_map: OutputMap = "tanh",
    tol: float | None = None,
    polish_iterations: int = 50,
) -> float | None:
    """The largest GDA weight of the last point for which GDA leaves ``minimum``'s basin.

    For each candidate weight :math:`w`, GDA descends the objective with weights
    :math:`(m_1, \\dots, m_{n-1}, w)` from ``theta0``, then descent on the pretrained
    objective (weights :math:`m`) runs from the GDA endpoint; GDA *left the basin* when
    this ends farther than ``tol`` from ``minimum`` (e.g. the pretrained global minimum:
    GDA then landed in the pretrained objective's inferior basin). Since
    :math:`w = m_n - (1 + r) k`, this gives the trapping boundary
    :math:`(1 + r) k = m_n - w^\\ast` of the phase diagram.

    Args:
        theta0: the starting model, shape ``(2,)``.
        minimum: the minimum of the pretrained objective to return to, shape ``(2,)``.
        candidates: GDA weights of the last point to try, shape ``(C,)``.
        data: the data (default :func:`data` in ``theta0``'s dtype).
        steps: descent steps of each stage.
        lam: ridge strength.
        output_map: see :func:`get_output_map`.
        tol: distance that counts as leaving (default as in :func:`phase_diagram`).
        polish_iterations: :func:`polish` iterations after each stage.

    Returns:
        The largest candidate that leaves the basin, or ``None`` if none does.

    Example:
        >>> import numpy as np, jax.numpy as jnp, ascentjax as aj
        >>> pre = jnp.array([1.346, -0.249])
        >>> w = aj.toy.critical_gda_weight(pre, pre, np.linspace(-1.0, 2.0, 7), steps=4000)
        >>> w  # GDA weight 0 at x = 4 (r = 1, k = 2) still leaves; 0.5 does not
        0.0
    """
    check_theta(minimum)
    theta0, dt, data = _start(theta0, data)
    c = _vector("candidates", candidates, "C")
    tol = default_tolerances(dt)[1] if tol is None else tol
    check_positive("tol", tol)
    kw = dict(lam=lam, output_map=output_map)
    m = data.multiplicities
    first = jnp.concatenate([jnp.broadcast_to(m[:-1], (c.size, m.size - 1)), c[:, None]], 1)
    pretrained = jnp.broadcast_to(m, first.shape)
    # stage 1: GDA with the candidate weights; stage 2: descent back on the pretrained loss
    _, back = gda_then_finetune(
        theta0,
        Weights(pretrained, pretrained, first.astype(dt)),
        data,
        steps=steps,
        polish_iterations=polish_iterations,
        **kw,
    )
    left = np.asarray(jnp.linalg.norm(back - jnp.asarray(minimum, dt), axis=-1) > tol)
    return float(c[left].max()) if left.any() else None
