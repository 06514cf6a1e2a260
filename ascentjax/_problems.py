r"""The paper's two synthetic settings as problem types.

A problem holds every parameter of one setting: the one-coordinate setting
(:class:`OneCoordinate`) and the cross-correlated block (:class:`Block`). Both are
frozen dataclasses registered as JAX pytrees: the numeric fields are leaves (so
they may be traced arrays, and a problem whose fields are arrays of shape
``(B,)`` is a batch that ``jax.vmap`` maps over), while ``loss`` is static.

Concrete field values are validated on construction (a :class:`ValueError`
naming the field); traced values and non-numeric placeholders (``None``, the
leaves ``jax`` itself puts in a pytree, e.g. an ``in_axes`` spec) pass unchecked.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import jax
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from ._data import Dataset, cross_correlated_data, one_coordinate_data
from ._losses import LOSSES
from ._validation import check_choice, check_range, is_concrete, static_count

__all__ = ["Block", "OneCoordinate"]


def _checkable(x: Any) -> bool:
    """A concrete number or numeric array (placeholders and tracers are skipped)."""
    if isinstance(x, bool) or not is_concrete(x):
        return False
    if isinstance(x, numbers.Real):
        return True
    dt = getattr(x, "dtype", None)
    return dt is not None and (np.issubdtype(dt, np.floating) or np.issubdtype(dt, np.integer))


def _check_fields(problem: Any, ranges: dict[str, dict[str, Any]]) -> None:
    check_choice("loss", problem.loss, LOSSES)
    for name, bounds in ranges.items():
        value = getattr(problem, name)
        if isinstance(value, (str, bool)):
            raise TypeError(f"{name} must be a real number or array, got {value!r}")
        if _checkable(value):
            check_range(name, value, **bounds)
    values = [problem.alpha, problem.block_size, problem.n_retain, problem.n_forget]
    if not all(_checkable(v) for v in values):
        return
    alpha, block_size, n_retain, n_forget = (np.asarray(v, float) for v in values)
    if np.any(n_retain < block_size):
        raise ValueError("n_retain must be >= block_size (the block's retain samples)")
    if np.any(n_forget < alpha * block_size * (1 - 1e-12)):
        raise ValueError("n_forget must be >= alpha * block_size (the block's forget samples)")


_POSITIVE = {"low": 0.0, "low_inclusive": False}
# the ranges of the fields both problem types share
_RANGES = {
    "alpha": {"low": 0.0},
    "lam": _POSITIVE,
    "block_size": _POSITIVE,
    "n_retain": _POSITIVE,
    "n_forget": {"low": 0.0},
}


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class OneCoordinate:
    r"""The one-coordinate setting: a block of :math:`|R_j|` retain samples and
    :math:`\alpha|R_j|` forget samples on one coordinate, plus orthogonal filler.

    Attributes:
        alpha: forget-to-retain ratio :math:`\alpha = |F_j|/|R_j| \ge 0`.
        lam: ridge strength :math:`\lambda > 0`.
        block_size: :math:`|R_j| > 0` (a concrete integer when building data).
        n_retain: :math:`|R| \ge |R_j|`.
        n_forget: :math:`|F| \ge \alpha|R_j|`.
        loss: ``"exp"`` or ``"logistic"`` (static).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> import ascentjax as aj
        >>> problem = aj.OneCoordinate(alpha=0.5, lam=0.01, block_size=5,
        ...                            n_retain=100, n_forget=10)
        >>> problem.data().x.shape
        (12, 1)
        >>> batch = aj.OneCoordinate(alpha=jnp.array([0.1, 0.2]), lam=0.01)
        >>> jax.tree.leaves(batch)[0].shape
        (2,)
    """

    alpha: ArrayLike
    lam: ArrayLike
    block_size: ArrayLike = 50.0
    n_retain: ArrayLike = 900.0
    n_forget: ArrayLike = 100.0
    loss: str = dataclasses.field(default="exp", metadata={"static": True})

    def __post_init__(self) -> None:
        _check_fields(self, _RANGES)

    def data(
        self,
        key: jax.Array | None = None,
        *,
        noise: ArrayLike = 0.0,
        dtype: DTypeLike | None = None,
    ) -> Dataset:
        """The problem's data set (see :func:`ascentjax.one_coordinate_data`).

        Args:
            key: PRNG key, required when ``noise > 0``.
            noise: Gaussian feature-noise standard deviation (>= 0).
            dtype: floating dtype; ``None`` follows JAX's default float.

        Returns:
            A :class:`~ascentjax.Dataset` with ``2 * block_size + 2`` rows and ``d = 1``.
        """
        return one_coordinate_data(
            key,
            static_count("block_size", self.block_size),
            self.alpha,
            self.n_retain,
            self.n_forget,
            noise=noise,
            dtype=dtype,
        )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Block:
    r"""The cross-correlated block: retain samples at :math:`(1, \rho)`, forget samples
    at :math:`(\rho, 1)` with total weight :math:`\alpha|S_i|`, plus orthogonal filler.

    Attributes:
        rho: correlation :math:`\rho \in [0, 1)`.
        alpha: :math:`|S_j|/|S_i| \ge 0`.
        lam: ridge strength :math:`\lambda > 0`.
        block_size: :math:`|S_i| > 0` (a concrete integer when building data).
        n_retain: :math:`|R| \ge |S_i|`.
        n_forget: :math:`|F| \ge \alpha|S_i|`.
        loss: ``"exp"`` or ``"logistic"`` (static).

    Example:
        >>> import ascentjax as aj
        >>> block = aj.Block(rho=0.8, alpha=0.05, lam=0.01)
        >>> data = block.data()
        >>> data.x.shape, float(data.n_forget)
        ((102, 2), 100.0)
    """

    rho: ArrayLike
    alpha: ArrayLike
    lam: ArrayLike
    block_size: ArrayLike = 50.0
    n_retain: ArrayLike = 900.0
    n_forget: ArrayLike = 100.0
    loss: str = dataclasses.field(default="exp", metadata={"static": True})

    def __post_init__(self) -> None:
        _check_fields(self, {"rho": {"low": 0.0, "high": 1.0, "high_inclusive": False}, **_RANGES})

    def data(
        self,
        key: jax.Array | None = None,
        *,
        noise: ArrayLike = 0.0,
        dtype: DTypeLike | None = None,
    ) -> Dataset:
        """The problem's data set (see :func:`ascentjax.cross_correlated_data`).

        Args:
            key: PRNG key, required when ``noise > 0``.
            noise: Gaussian feature-noise standard deviation (>= 0).
            dtype: floating dtype; ``None`` follows JAX's default float.

        Returns:
            A :class:`~ascentjax.Dataset` with ``2 * block_size + 2`` rows and ``d = 2``.
        """
        return cross_correlated_data(
            key,
            self.rho,
            self.alpha,
            block_size=static_count("block_size", self.block_size),
            n_retain=self.n_retain,
            n_forget=self.n_forget,
            noise=noise,
            dtype=dtype,
        )
