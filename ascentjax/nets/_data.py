"""Classification data: scikit-learn's 8x8 digits and CIFAR-10 from local files.

The loaders are NumPy code outside any traced function; nothing is downloaded.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import NamedTuple

import numpy as np
from jaxtyping import ArrayLike, Float, Int

__all__ = ["ClassificationData", "load_cifar10", "load_digits"]


class ClassificationData(NamedTuple):
    """A classification data set split into train and test arrays.

    Attributes:
        x_train: ``(n_train, H, W, C)`` float inputs.
        y_train: ``(n_train,)`` integer labels.
        x_test: ``(n_test, H, W, C)`` float inputs.
        y_test: ``(n_test,)`` integer labels.
        num_classes: number of classes.
    """

    x_train: Float[ArrayLike, "n_train ..."]
    y_train: Int[ArrayLike, " n_train"]
    x_test: Float[ArrayLike, "n_test ..."]
    y_test: Int[ArrayLike, " n_test"]
    num_classes: int


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
