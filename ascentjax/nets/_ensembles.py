"""Small flax classifiers trained as ensembles of N models at once, and their margins.

The KLoM study (paper Sec. 3, App. K) needs the *distribution* of a
classifier's margin over many independently trained models. Everything here is
vectorised over the model axis: the parameters of an ensemble are one pytree whose
leaves carry a leading axis of length N, the per-model initialisation and data-order
keys are split from one key, and one ``lax.scan`` over the optimisation steps trains
all N models (``vmap`` over the models inside the step, one optax state per model).

The retrain oracle is the same training run on the retain set only.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from .._validation import check_choice, check_count, check_nonnegative, check_positive

__all__ = [
    "classifier_margins",
    "ensemble_accuracy",
    "ensemble_logits",
    "ensemble_margins",
    "init_ensemble",
    "retrain_oracle",
    "train_ensemble",
]

MARGIN_REDUCTIONS = ("logsumexp", "max")
"""Names accepted by :func:`classifier_margins` as ``other``."""


def classifier_margins(
    logits: jax.Array, labels: jax.Array, *, other: str = "logsumexp"
) -> jax.Array:
    r"""The classifier margin: correct-class logit minus the log-sum-exp of the others.

    .. math::

        \phi(x, y) = z_y(x) - \log\sum_{k \neq y} e^{z_k(x)}
        = \log\frac{p_y(x)}{1 - p_y(x)},

    the log-odds of the correct class under the softmax :math:`p = \mathrm{softmax}(z)`:
    positive exactly when :math:`p_y > 1/2`, which implies a correct classification. This
    is the margin of the KLoM reference implementation (data-unlearning benchmark).
    ``other="max"`` gives the hard margin :math:`z_y - \max_{k \neq y} z_k` instead
    (positive exactly when the example is classified correctly; not the margin of
    published KLoM numbers). A NaN or infinite logit gives a NaN or infinite margin.
    Broadcasts over any leading axes of ``logits`` (``labels`` has the shape of
    ``logits[..., 0]`` or broadcasts to it).

    Args:
        logits: ``(..., C)`` logits, ``C >= 2``.
        labels: integer labels.
        other: how the other logits are reduced: ``"logsumexp"`` (default) or ``"max"``.

    Returns:
        The margins, shape ``logits.shape[:-1]``.

    Example:
        >>> import jax.numpy as jnp
        >>> z = jnp.array([[2.0, 0.0, 0.0]])
        >>> classifier_margins(z, jnp.array([0]))   # 2 - log(2)
        Array([1.3068528], dtype=float32)
        >>> classifier_margins(z, jnp.array([0]), other="max")
        Array([2.], dtype=float32)
    """
    check_choice("other", other, MARGIN_REDUCTIONS)
    logits = jnp.asarray(logits)
    if logits.ndim < 1 or logits.shape[-1] < 2:
        raise ValueError(f"logits must have a last axis of length >= 2, got {logits.shape}")
    labels = jnp.broadcast_to(jnp.asarray(labels), logits.shape[:-1])
    onehot = jax.nn.one_hot(labels, logits.shape[-1], dtype=bool)
    correct = jnp.sum(jnp.where(onehot, logits, 0), axis=-1)
    if other == "max":
        rest = jnp.max(jnp.where(onehot, -jnp.inf, logits), axis=-1)
    else:
        rest = jax.nn.logsumexp(logits, axis=-1, where=~onehot)
    return correct - rest


# ----------------------------------------------------------------------------- ensembles
def init_ensemble(key: jax.Array, model: nn.Module, x_example: jax.Array, n_models: int) -> Any:
    """Initialise ``n_models`` independent copies of ``model`` (leading axis N).

    Args:
        key: PRNG key; model ``i`` is initialised with ``split(key, n_models)[i]``.
        model: a flax module.
        x_example: an input batch of the right trailing shape (values unused).
        n_models: ensemble size N.

    Returns:
        The stacked parameter pytree (every leaf has leading axis N).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax.nets import MLP
        >>> p = init_ensemble(jax.random.key(0), MLP((8,), 3), jnp.zeros((1, 4)), 5)
        >>> p["params"]["Dense_0"]["kernel"].shape
        (5, 4, 8)
    """
    check_count("n_models", n_models)
    keys = jax.random.split(key, n_models)
    x1 = jnp.asarray(x_example)[:1]
    return jax.vmap(lambda k: model.init(k, x1))(keys)


def ensemble_logits(model: nn.Module, params: Any, x: jax.Array) -> jax.Array:
    """Logits of every model of an ensemble on shared inputs: shape ``(N, n, C)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax.nets import MLP
        >>> net = MLP((8,), 3)
        >>> p = init_ensemble(jax.random.key(0), net, jnp.zeros((1, 4)), 5)
        >>> ensemble_logits(net, p, jnp.ones((7, 4))).shape
        (5, 7, 3)
    """
    return jax.vmap(lambda p: model.apply(p, x))(params)


def ensemble_margins(
    model: nn.Module, params: Any, x: jax.Array, y: jax.Array, *, other: str = "logsumexp"
) -> jax.Array:
    """Margins (see :func:`classifier_margins`) of every model on every point: shape ``(N, n)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax.nets import MLP
        >>> net = MLP((8,), 3)
        >>> p = init_ensemble(jax.random.key(0), net, jnp.zeros((1, 4)), 5)
        >>> ensemble_margins(net, p, jnp.ones((7, 4)), jnp.zeros(7, int)).shape
        (5, 7)
    """
    return classifier_margins(ensemble_logits(model, params, x), y, other=other)


def ensemble_accuracy(model: nn.Module, params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    """Accuracy of every model of the ensemble on ``(x, y)``: shape ``(N,)``.

    A model whose parameters or logits on ``x`` contain a NaN or an infinity (a diverged
    model) has accuracy NaN, not the accuracy of ``argmax`` over garbage.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax.nets import MLP
        >>> net = MLP((8,), 3)
        >>> p = init_ensemble(jax.random.key(0), net, jnp.zeros((1, 4)), 5)
        >>> ensemble_accuracy(net, p, jnp.ones((7, 4)), jnp.zeros(7, int)).shape
        (5,)
    """
    logits = ensemble_logits(model, params, x)
    acc = jnp.mean(jnp.argmax(logits, axis=-1) == jnp.asarray(y), axis=-1)
    n = logits.shape[0]
    finite = jnp.all(jnp.isfinite(logits).reshape(n, -1), axis=-1)
    for leaf in jax.tree_util.tree_leaves(params):
        if jnp.issubdtype(leaf.dtype, jnp.inexact):
            finite &= jnp.all(jnp.isfinite(leaf).reshape(n, -1), axis=-1)
    return jnp.where(finite, acc, jnp.nan)


def _batch_plan(key: jax.Array, m: int, batch_size: int, epochs: int) -> jax.Array:
    """Positions ``(epochs * steps, batch)`` into a length-``m`` index set: one fresh
    permutation per epoch, the last incomplete batch dropped."""
    steps = m // batch_size
    keys = jax.random.split(key, epochs)
    perms = jax.vmap(lambda k: jax.random.permutation(k, m))(keys)
    return perms[:, : steps * batch_size].reshape(epochs * steps, batch_size)


@functools.partial(
    jax.jit, static_argnames=("model", "n_models", "epochs", "batch_size", "optimizer")
)
def _train(
    key,
    x,
    y,
    indices,
    learning_rate,
    momentum,
    lam,
    *,
    model,
    n_models,
    epochs,
    batch_size,
    optimizer,
):
    m = indices.shape[1]
    k_init, k_order = jax.random.split(key)
    params = init_ensemble(k_init, model, x, n_models)
    pdt = jax.tree_util.tree_leaves(params)[0].dtype  # hyperparameters follow the params
    learning_rate, momentum, lam = (jnp.asarray(v, pdt) for v in (learning_rate, momentum, lam))
    opt = optimizer if optimizer is not None else optax.sgd(learning_rate, momentum=momentum)
    state = jax.vmap(opt.init)(params)
    plan = jax.vmap(lambda k: _batch_plan(k, m, batch_size, epochs))(
        jax.random.split(k_order, n_models)
    )  # (N, steps, batch) positions into each model's index row
    batches = jnp.take_along_axis(indices[:, None, :], plan, axis=2)  # example ids
    batches = jnp.swapaxes(batches, 0, 1)  # (steps, N, batch)

    def loss(p: Any, xb: jax.Array, yb: jax.Array) -> jax.Array:
        logits = model.apply(p, xb)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
        l2 = sum(jnp.sum(w**2) for w in jax.tree_util.tree_leaves(p))
        return ce + 0.5 * lam * l2

    def one(p: Any, s: Any, idx: jax.Array) -> tuple[Any, Any]:
        g = jax.grad(loss)(p, x[idx], y[idx])
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s

    def step(carry: tuple[Any, Any], idx: jax.Array) -> tuple[tuple[Any, Any], None]:
        p, s = carry
        return jax.vmap(one)(p, s, idx), None

    (params, _), _ = jax.lax.scan(step, (params, state), batches)
    return params


def train_ensemble(
    key: jax.Array,
    model: nn.Module,
    x: jax.Array,
    y: jax.Array,
    *,
    n_models: int,
    epochs: int,
    batch_size: int = 64,
    learning_rate: float = 0.05,
    momentum: float = 0.9,
    lam: float = 5e-4,
    indices: jax.Array | None = None,
    optimizer: optax.GradientTransformation | None = None,
) -> Any:
    r"""Train an ensemble of N models at once with minibatch SGD.

    Model :math:`i` starts from its own initialisation and visits its own training
    set :math:`S_i` (row ``i`` of ``indices``; default the full data set) in its own
    random order, a fresh permutation each epoch (the last incomplete batch of an
    epoch is dropped). It minimises the mean cross-entropy of its batch plus
    :math:`\tfrac{\lambda}{2}\|\theta\|^2` (``lam``). One ``lax.scan`` runs
    the ``epochs * (|S| // batch_size)`` steps of all models; each step is a
    ``vmap`` over the models with one optax state per model.

    The key is split as ``k_init, k_order = jax.random.split(key)``; the initial
    ensemble is ``init_ensemble(k_init, model, x, n_models)``.

    Args:
        key: PRNG key; split into the initialisation keys and the data-order keys.
        model: a flax classifier module (logits out).
        x: ``(n, ...)`` inputs.
        y: ``(n,)`` integer labels.
        n_models: ensemble size N.
        epochs: passes over each model's training set.
        batch_size: minibatch size (at most the training-set size).
        learning_rate: SGD step size (ignored when ``optimizer`` is given).
        momentum: heavy-ball momentum (ignored when ``optimizer`` is given).
        lam: L2 coefficient :math:`\lambda \ge 0`.
        indices: optional ``(n_models, m)`` or ``(m,)`` integer array: the training
            examples of each model (e.g. a retain set, or random subsets for
            datamodels).
        optimizer: optional optax transformation replacing SGD with momentum.

    Returns:
        The trained ensemble's parameters (leading axis N on every leaf).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax.nets import MLP
        >>> x = jax.random.normal(jax.random.key(1), (64, 4)); y = (x[:, 0] > 0).astype(int)
        >>> p = train_ensemble(jax.random.key(0), MLP((8,), 2), x, y, n_models=3, epochs=2,
        ...                    batch_size=16)
        >>> ensemble_accuracy(MLP((8,), 2), p, x, y).shape
        (3,)
    """
    check_count("n_models", n_models)
    check_count("epochs", epochs)
    check_count("batch_size", batch_size)
    check_positive("learning_rate", learning_rate)
    check_nonnegative("lam", lam)
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    n = x.shape[0]
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    if indices is None:
        indices = jnp.arange(n)
    indices = jnp.asarray(indices)
    if indices.ndim == 1:
        indices = jnp.broadcast_to(indices, (n_models, indices.shape[0]))
    if indices.ndim != 2 or indices.shape[0] != n_models:
        raise ValueError(f"indices must have shape (n_models, m), got {indices.shape}")
    m = indices.shape[1]
    if batch_size > m:
        raise ValueError(f"batch_size must be <= the training-set size {m}, got {batch_size}")
    return _train(
        key,
        x,
        y,
        indices,
        learning_rate,
        momentum,
        lam,
        model=model,
        n_models=int(n_models),
        epochs=int(epochs),
        batch_size=int(batch_size),
        optimizer=optimizer,
    )


def retrain_oracle(
    key: jax.Array, model: nn.Module, x: jax.Array, y: jax.Array, retain: Any, **train_kwargs: Any
) -> Any:
    """The retrain oracle: an ensemble trained from scratch on the retain set only.

    Same training recipe as the original models (:func:`train_ensemble`,
    with ``indices=retain``); use a key independent of the original models'.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from ascentjax.nets import MLP
        >>> x = jax.random.normal(jax.random.key(1), (40, 4)); y = (x[:, 0] > 0).astype(int)
        >>> p = retrain_oracle(jax.random.key(0), MLP((8,), 2), x, y, jnp.arange(30),
        ...                    n_models=3, epochs=1, batch_size=10)
        >>> p["params"]["Dense_0"]["kernel"].shape
        (3, 4, 8)
    """
    return train_ensemble(key, model, x, y, indices=jnp.asarray(retain), **train_kwargs)
