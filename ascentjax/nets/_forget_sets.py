"""Forget sets of training examples: complements and datamodel-PCA extremes."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_count

__all__ = ["pca_forget_sets", "retain_indices"]


def retain_indices(n: int, forget: Any) -> np.ndarray:
    """The complement of ``forget`` in ``range(n)`` (NumPy: its length depends on values).

    Example:
        >>> retain_indices(5, [1, 3]).tolist()
        [0, 2, 4]
    """
    mask = np.ones(n, dtype=bool)
    mask[np.asarray(forget, dtype=np.int64)] = False
    return np.flatnonzero(mask)


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
