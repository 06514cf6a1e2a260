r"""The :math:`\alpha`-window in which Lemmas 9 and 10 together prove DA detrimental."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._problems import Block
from ._block import da_existence_threshold, lemma9_threshold, lemma10_thresholds

__all__ = ["lemma_window"]


def lemma_window(block: Block) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    r"""The forget-block sizes :math:`\alpha` for which the lemmas prove DA detrimental.

    For :math:`\alpha` in

    .. math::

        \big[\alpha_9,\ \min\{\alpha_x, \alpha_y, \alpha_{\exists}\}\big]

    the stationary points are ordered :math:`x_{DA} \le x_D \le x_R` and
    :math:`y_{DA} \le y_D \le y_R`, so DA moves away from the oracle: Lemma 9
    (:func:`lemma9_threshold`, :math:`\alpha \ge \alpha_9`) puts the DA point below the
    pretrained model, Lemma 10 (:func:`lemma10_thresholds`,
    :math:`\alpha \le \min\{\alpha_x, \alpha_y\}`) puts the oracle above it, and with the
    exponential loss the DA point must exist, :math:`\alpha \le \alpha_{\exists}`
    (:func:`da_existence_threshold`; no such limit is applied for the logistic loss).
    The lemmas are sufficient conditions: the exact window (:func:`window_scan`) contains
    this one, which is empty (``lo > hi``) where their bounds are too loose.
    ``block.alpha`` is not used.

    Args:
        block: the setting (:class:`ascentjax.Block`); its fields may be arrays (a batch,
            evaluated setting by setting with ``vmap``).

    Returns:
        ``(lo, hi)``; the window is empty where ``lo > hi``.

    Example:
        >>> import ascentjax as aj
        >>> lo, hi = aj.theory.lemma_window(aj.Block(0.95, 0.0, 0.01))
        >>> [round(float(v), 4) for v in (lo, hi)]
        [0.1009, 0.1094]
        >>> lo, hi = aj.theory.lemma_window(aj.Block(0.8, 0.0, 0.01))
        >>> bool(lo > hi)
        True
    """

    def one(rho, lam, block_size, n_retain, n_forget):  # one setting: the bisection is scalar
        b = Block(rho, 0.0, lam, block_size, n_retain, n_forget, loss=block.loss)
        hi = jnp.minimum(*lemma10_thresholds(b))
        if block.loss == "exp":
            hi = jnp.minimum(hi, da_existence_threshold(b))
        return lemma9_threshold(b), hi

    fields = (block.rho, block.lam, block.block_size, block.n_retain, block.n_forget)
    return jnp.vectorize(one)(*fields)
