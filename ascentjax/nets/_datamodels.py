"""Linear datamodels: random training subsets, ridge regression, the influence matrix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from .._validation import check_count, check_positive, check_range
from ._ensembles import ensemble_margins, train_ensemble

__all__ = ["datamodel_subsets", "estimate_datamodels", "fit_datamodels"]


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


def fit_datamodels(masks: jax.Array, outputs: jax.Array, lam: float = 1.0) -> jax.Array:
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
        lam: the ridge :math:`\lambda > 0`.

    Returns:
        ``(n, P)`` datamodel matrix.

    Example:
        >>> import jax.numpy as jnp
        >>> X = jnp.array([[1., 0.], [0., 1.], [1., 1.], [0., 0.]])
        >>> fit_datamodels(X, X @ jnp.array([[2.], [-1.]]), lam=1e-6).round(3).ravel()
        Array([ 2., -1.], dtype=float32)
    """
    check_positive("lam", lam)
    X = jnp.asarray(masks)
    Y = jnp.asarray(outputs)
    dt = jnp.result_type(X.dtype, Y.dtype, jnp.float32)
    X = X.astype(dt)
    Y = Y.astype(dt)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"masks (M, n) and outputs (M, P) need the same M: {X.shape}, {Y.shape}")
    Xc = X - X.mean(axis=0)
    Yc = Y - Y.mean(axis=0)
    K = Xc @ Xc.T + lam * jnp.eye(X.shape[0], dtype=dt)
    return Xc.T @ jnp.linalg.solve(K, Yc)


def estimate_datamodels(
    key: jax.Array,
    model: nn.Module,
    x: jax.Array,
    y: jax.Array,
    *,
    n_models: int,
    alpha: float = 0.5,
    lam: float = 1.0,
    train_kwargs: Mapping[str, Any] | None = None,
) -> jax.Array:
    r"""The train × train datamodel (influence) matrix from models trained on subsets.

    Trains ``n_models`` models (one ensemble, :func:`ascentjax.nets.train_ensemble`) on
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
        lam: ridge :math:`\lambda > 0` of the regression.
        train_kwargs: keyword arguments of :func:`ascentjax.nets.train_ensemble`
            (``epochs`` required; its ``lam`` is the training L2, not the ridge).

    Returns:
        ``(n, n)`` matrix :math:`\Theta`; column :math:`j` is the datamodel of
        training example :math:`j`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax.nets import MLP
        >>> x = jax.random.normal(jax.random.key(1), (40, 4)); y = (x[:, 0] > 0).astype(int)
        >>> estimate_datamodels(jax.random.key(0), MLP((8,), 2), x, y, n_models=8,
        ...                     train_kwargs=dict(epochs=1, batch_size=10)).shape
        (40, 40)
    """
    train_kwargs = dict(train_kwargs or {})
    if "epochs" not in train_kwargs:
        raise ValueError("train_kwargs must hold the training epochs, e.g. dict(epochs=10)")
    n = jnp.asarray(x).shape[0]
    k_sub, k_train = jax.random.split(key)
    subsets = datamodel_subsets(k_sub, n_models, n, alpha)
    params = train_ensemble(
        k_train, model, x, y, n_models=n_models, indices=subsets, **train_kwargs
    )
    marg = ensemble_margins(model, params, x, y)  # (M, n)
    masks = jnp.zeros((n_models, n), marg.dtype).at[jnp.arange(n_models)[:, None], subsets].set(1)
    return fit_datamodels(masks, marg, lam)
