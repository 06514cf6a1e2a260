"""Small flax classifiers trained as ensembles of N models at once, and their margins.

The KLoM study (paper Sec. 3, App. K) needs the *distribution* of a
classifier's margin over many independently trained models. Everything here is
vectorised over the model axis: the parameters of an ensemble are one pytree whose
leaves carry a leading axis of length N, the per-model initialisation and data-order
keys are split from one key, and one ``lax.scan`` over the optimisation steps trains
all N models (``vmap`` over the models inside the step, one optax state per model).

Data loaders (NumPy, outside the traced code): scikit-learn's 8×8 digits (ships with
the package, no download) and CIFAR-10 from the standard local python batch files.
"""

from __future__ import annotations

import functools
import math
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._validation import check_count, check_nonnegative, check_positive

__all__ = [
    "MLP",
    "SmallCNN",
    "ClassificationData",
    "init_ensemble",
    "ensemble_logits",
    "ensemble_margins",
    "ensemble_accuracy",
    "classifier_margins",
    "train_ensemble",
    "load_digits",
    "load_cifar10",
]


# ----------------------------------------------------------------------------- models
class MLP(nn.Module):
    """A multilayer perceptron classifier (inputs are flattened).

    Attributes:
        hidden: widths of the hidden ReLU layers.
        num_classes: number of output logits.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = MLP(hidden=(32,), num_classes=10)
        >>> p = net.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
        >>> net.apply(p, jnp.zeros((5, 8, 8, 1))).shape
        (5, 10)
    """

    hidden: Sequence[int] = (64,)
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.reshape((x.shape[0], -1))
        for h in self.hidden:
            x = nn.relu(nn.Dense(h)(x))
        return nn.Dense(self.num_classes)(x)


class SmallCNN(nn.Module):
    """A small convolutional classifier for ``(batch, H, W, C)`` images.

    Two blocks of 3×3 convolution, ReLU and 2×2 average pooling, then a dense layer.

    Attributes:
        channels: output channels of the two convolutions.
        num_classes: number of output logits.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = SmallCNN(channels=(8, 16), num_classes=10)
        >>> p = net.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
        >>> net.apply(p, jnp.zeros((3, 8, 8, 1))).shape
        (3, 10)
    """

    channels: Sequence[int] = (16, 32)
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for c in self.channels:
            x = nn.relu(nn.Conv(c, (3, 3))(x))
            x = nn.avg_pool(x, (2, 2), strides=(2, 2), padding="SAME")
        x = x.reshape((x.shape[0], -1))
        return nn.Dense(self.num_classes)(x)


class ClassificationData(NamedTuple):
    """A classification data set split into train and test arrays.

    Attributes:
        x_train: ``(n_train, H, W, C)`` float inputs.
        y_train: ``(n_train,)`` integer labels.
        x_test: ``(n_test, H, W, C)`` float inputs.
        y_test: ``(n_test,)`` integer labels.
        num_classes: number of classes.
    """

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    num_classes: int


# ----------------------------------------------------------------------------- margins
def classifier_margins(logits: jax.Array, labels: jax.Array) -> jax.Array:
    r"""The classifier margin: correct-class logit minus the largest other logit.

    .. math::

        \phi(x, y) = z_y(x) - \max_{k \neq y} z_k(x),

    positive exactly when the example is classified correctly. Broadcasts over any
    leading axes of ``logits`` (``labels`` has the shape of ``logits[..., 0]`` or
    broadcasts to it).

    Args:
        logits: ``(..., C)`` logits, ``C >= 2``.
        labels: integer labels.

    Returns:
        The margins, shape ``logits.shape[:-1]``.

    Example:
        >>> import jax.numpy as jnp
        >>> classifier_margins(jnp.array([[2.0, 0.5, 1.0]]), jnp.array([0]))
        Array([1.], dtype=float32)
    """
    logits = jnp.asarray(logits)
    if logits.ndim < 1 or logits.shape[-1] < 2:
        raise ValueError(f"logits must have a last axis of length >= 2, got {logits.shape}")
    labels = jnp.broadcast_to(jnp.asarray(labels), logits.shape[:-1])
    onehot = jax.nn.one_hot(labels, logits.shape[-1], dtype=bool)
    correct = jnp.sum(jnp.where(onehot, logits, 0), axis=-1)
    other = jnp.max(jnp.where(onehot, -jnp.inf, logits), axis=-1)
    return correct - other


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
        >>> net = MLP((8,), 3)
        >>> p = init_ensemble(jax.random.key(0), net, jnp.zeros((1, 4)), 5)
        >>> ensemble_logits(net, p, jnp.ones((7, 4))).shape
        (5, 7, 3)
    """
    return jax.vmap(lambda p: model.apply(p, x))(params)


def ensemble_margins(model: nn.Module, params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    """Margins (see :func:`classifier_margins`) of every model on every point: shape ``(N, n)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = MLP((8,), 3)
        >>> p = init_ensemble(jax.random.key(0), net, jnp.zeros((1, 4)), 5)
        >>> ensemble_margins(net, p, jnp.ones((7, 4)), jnp.zeros(7, int)).shape
        (5, 7)
    """
    return classifier_margins(ensemble_logits(model, params, x), y)


def ensemble_accuracy(model: nn.Module, params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    """Accuracy of every model of the ensemble on ``(x, y)``: shape ``(N,)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = MLP((8,), 3)
        >>> p = init_ensemble(jax.random.key(0), net, jnp.zeros((1, 4)), 5)
        >>> ensemble_accuracy(net, p, jnp.ones((7, 4)), jnp.zeros(7, int)).shape
        (5,)
    """
    logits = ensemble_logits(model, params, x)
    return jnp.mean(jnp.argmax(logits, axis=-1) == jnp.asarray(y), axis=-1)


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
    weight_decay,
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
    learning_rate, momentum, weight_decay = (
        jnp.asarray(v, pdt) for v in (learning_rate, momentum, weight_decay)
    )
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
        return ce + 0.5 * weight_decay * l2

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
    weight_decay: float = 5e-4,
    indices: jax.Array | None = None,
    optimizer: optax.GradientTransformation | None = None,
) -> Any:
    r"""Train an ensemble of N models at once with minibatch SGD.

    Model :math:`i` starts from its own initialisation and visits its own training
    set :math:`S_i` (row ``i`` of ``indices``; default the full data set) in its own
    random order, a fresh permutation each epoch (the last incomplete batch of an
    epoch is dropped). It minimises the mean cross-entropy of its batch plus
    :math:`\tfrac{\lambda}{2}\|\theta\|^2` (``weight_decay``). One ``lax.scan`` runs
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
        weight_decay: L2 coefficient :math:`\lambda \ge 0`.
        indices: optional ``(n_models, m)`` or ``(m,)`` integer array: the training
            examples of each model (e.g. a retain set, or random subsets for
            datamodels).
        optimizer: optional optax transformation replacing SGD with momentum.

    Returns:
        The trained ensemble's parameters (leading axis N on every leaf).

    Example:
        >>> import jax, jax.numpy as jnp
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
    check_nonnegative("weight_decay", weight_decay)
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
        weight_decay,
        model=model,
        n_models=int(n_models),
        epochs=int(epochs),
        batch_size=int(batch_size),
        optimizer=optimizer,
    )


# ----------------------------------------------------------------------------- data
def load_digits(test_fraction: float = 0.2, seed: int = 0) -> ClassificationData:
    """scikit-learn's 8×8 handwritten digits (1,797 images; ships with scikit-learn).

    Pixels are scaled to [0, 1] (divided by 16) and shaped ``(n, 8, 8, 1)``; the split
    is a seeded random permutation.

    Args:
        test_fraction: fraction of the 1,797 images held out, in (0, 1).
        seed: seed of the split permutation.

    Returns:
        A :class:`ClassificationData` (NumPy float32 inputs, int32 labels).

    Example:
        >>> d = load_digits()
        >>> d.x_train.shape, d.x_test.shape
        ((1438, 8, 8, 1), (359, 8, 8, 1))
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    from sklearn.datasets import load_digits as _sk_digits

    d = _sk_digits()
    x = (d.images.astype(np.float32) / 16.0)[..., None]
    y = d.target.astype(np.int32)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(math.floor(test_fraction * len(y)))
    te, tr = perm[:n_test], perm[n_test:]
    return ClassificationData(x[tr], y[tr], x[te], y[te], 10)


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def load_cifar10(data_dir: str | Path, max_train: int | None = None) -> ClassificationData:
    """CIFAR-10 from the standard local python batch files (no download).

    ``data_dir`` holds ``data_batch_1`` … ``data_batch_5`` and ``test_batch``; each is a
    pickled dict with ``b'data'`` (uint8, ``N × 3072``, channel-major 3×32×32 rows) and
    ``b'labels'``. Inputs are returned as ``(N, 32, 32, 3)`` float32 in [0, 1] with the
    per-channel training mean and standard deviation removed.

    Args:
        data_dir: directory of the batch files (``cifar-10-batches-py``).
        max_train: optional cap on the training examples (the first ones kept).

    Returns:
        A :class:`ClassificationData`.

    Raises:
        FileNotFoundError: a batch file is missing (the message names it).

    Example:
        >>> # load_cifar10("~/data/cifar-10-batches-py")   # on a machine with the files
    """
    root = Path(data_dir).expanduser()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise FileNotFoundError(f"CIFAR-10 batch files missing in {root}: {', '.join(missing)}")

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        d = _unpickle(root / name)
        data = np.asarray(d[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072:
            raise ValueError(f"{name}: b'data' must be N x 3072 uint8, got {data.shape}")
        lab = np.asarray(d[b"labels"], dtype=np.int32)
        img = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / 255.0
        return img, lab

    parts = [read(n) for n in names[:5]]
    x_tr = np.concatenate([p[0] for p in parts])
    y_tr = np.concatenate([p[1] for p in parts])
    x_te, y_te = read("test_batch")
    if max_train is not None:
        x_tr, y_tr = x_tr[:max_train], y_tr[:max_train]
    mu = x_tr.mean(axis=(0, 1, 2))
    sd = x_tr.std(axis=(0, 1, 2)) + 1e-6
    return ClassificationData((x_tr - mu) / sd, y_tr, (x_te - mu) / sd, y_te, 10)
