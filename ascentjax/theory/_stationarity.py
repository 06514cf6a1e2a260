r"""Whether a trained reference model really is the minimiser it stands for."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike
from jaxtyping import Array, Bool

from .._data import Dataset
from .._objectives import retain_objective
from .._validation import check_nonnegative

__all__ = ["oracle_unconverged"]


def oracle_unconverged(
    w: ArrayLike,
    data: Dataset,
    lam: ArrayLike,
    *,
    loss: str = "exp",
    rtol: float = 1e-3,
) -> Bool[Array, ""]:
    r"""Whether ``w`` fails to minimise the retain objective :math:`L_R` of ``data``.

    A solver's result (e.g. :func:`ascentjax.train_oracle`) counts as unconverged when it
    is not finite or when its gradient is not ``1/rtol`` times smaller than at the start
    :math:`w = 0`:

    .. math::

        \lVert \nabla L_R(w) \rVert > \text{rtol}\, \lVert \nabla L_R(0) \rVert .

    :math:`L_R` is strictly convex for :math:`\lambda > 0`, so a small relative gradient
    means :math:`w` is close to the unique minimiser. For the pretrained model (trained on
    all of :math:`D`), pass ``data`` with an all-``False`` forget mask. Pure; works under
    ``jit`` and ``vmap``.

    Args:
        w: weights, shape ``(d,)``.
        data: the :class:`ascentjax.Dataset`; forget rows are ignored.
        lam: ridge strength :math:`\lambda \ge 0`.
        loss: margin loss, ``"exp"`` or ``"logistic"``.
        rtol: relative gradient tolerance, ``>= 0``.

    Returns:
        A boolean scalar array: ``True`` when ``w`` is not (close to) the minimiser.

    Example:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> data = aj.gaussian_mixture_data(jax.random.key(0), 50, 2, 2.0)
        >>> w = aj.train_oracle(data, 0.1, loss="logistic")
        >>> bool(aj.theory.oracle_unconverged(w, data, 0.1, loss="logistic"))
        False
        >>> bool(aj.theory.oracle_unconverged(jnp.zeros(2), data, 0.1, loss="logistic"))
        True
    """
    check_nonnegative("rtol", rtol)
    w = jnp.asarray(w)

    def grad_norm(v: jax.Array) -> jax.Array:
        return jnp.linalg.norm(jax.grad(retain_objective)(v, data, lam, loss))

    return ~jnp.all(jnp.isfinite(w)) | ~(grad_norm(w) <= rtol * grad_norm(jnp.zeros_like(w)))
