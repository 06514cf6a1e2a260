"""Ensembles of flax classifiers: margins, vmapped training, data loaders.

References: NumPy for margins and the CIFAR-10 byte layout; PyTorch autograd for one
full-batch SGD step of an MLP (an implementation independent of JAX/flax/optax).
"""

from __future__ import annotations

import math
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj


def _np_margins(logits: np.ndarray, labels: np.ndarray, other: str = "logsumexp") -> np.ndarray:
    out = np.empty(logits.shape[:-1])
    for idx in np.ndindex(*logits.shape[:-1]):
        row = np.asarray(logits[idx], np.float64)
        c = labels[idx]
        rest = [v for k, v in enumerate(row) if k != c]
        out[idx] = row[c] - (max(rest) if other == "max" else math.log(sum(map(math.exp, rest))))
    return out


def test_margins_match_numpy_loop(key):
    logits = jax.random.normal(key, (3, 7, 5))
    labels = jax.random.randint(jax.random.key(1), (3, 7), 0, 5)
    for other in ("logsumexp", "max"):
        ref = _np_margins(np.asarray(logits), np.asarray(labels), other)
        np.testing.assert_allclose(
            np.asarray(aj.nets.classifier_margins(logits, labels, other=other)), ref, rtol=1e-13,
            atol=1e-13,
        )  # fmt: skip
    # ties: the largest other logit equals the correct one
    z, y = jnp.array([1.0, 1.0, 0.0]), 0
    assert float(aj.nets.classifier_margins(z, y, other="max")) == 0.0
    assert float(aj.nets.classifier_margins(z, y)) == pytest.approx(1 - math.log(math.e + 1), 1e-14)
    # the default margin is the log-odds of the correct class under the softmax
    pr = np.asarray(jax.nn.softmax(logits))
    py = np.take_along_axis(pr, np.asarray(labels)[..., None], -1)[..., 0]
    np.testing.assert_allclose(
        np.asarray(aj.nets.classifier_margins(logits, labels)), np.log(py / (1 - py)), rtol=1e-12
    )
    # large logits: no overflow (the log-sum-exp is shifted)
    big = jnp.array([1000.0, 999.0, 998.0])
    assert float(aj.nets.classifier_margins(big, 0)) == pytest.approx(1 - math.log(1 + math.e**-1))


def test_margins_jit_vmap_grad_and_dtype(key):
    logits = jax.random.normal(key, (4, 6, 3), dtype=jnp.float32)
    labels = jnp.arange(6) % 3
    direct = aj.nets.classifier_margins(logits, labels)
    assert direct.dtype == jnp.float32
    np.testing.assert_array_equal(jax.jit(aj.nets.classifier_margins)(logits, labels), direct)
    np.testing.assert_array_equal(
        jax.vmap(aj.nets.classifier_margins, (0, None))(logits, labels), direct
    )
    # gradient: +1 on the correct logit, minus the softmax of the others elsewhere
    z = jnp.array([2.0, 3.0, 1.0])
    g = jax.grad(lambda z: aj.nets.classifier_margins(z, 0))(z)
    e3, e1 = math.exp(3.0), math.exp(1.0)
    np.testing.assert_allclose(np.asarray(g), [1.0, -e3 / (e3 + e1), -e1 / (e3 + e1)], 1e-6)
    # the hard margin: +1 on the correct logit, -1 on the runner-up, 0 elsewhere
    g = jax.grad(lambda z: aj.nets.classifier_margins(z, 0, other="max"))(z)
    np.testing.assert_array_equal(np.asarray(g), [1.0, -1.0, 0.0])
    with pytest.raises(ValueError, match="logits"):
        aj.nets.classifier_margins(jnp.ones((3, 1)), jnp.zeros(3, int))
    with pytest.raises(ValueError, match="other"):
        aj.nets.classifier_margins(z, 0, other="mean")


def test_non_finite_logits_give_non_finite_margins_and_nan_accuracy(key):
    z = jnp.array([[jnp.nan, 1.0, 0.0], [1.0, jnp.nan, 0.0], [1.0, jnp.inf, 0.0]])
    for other in ("logsumexp", "max"):
        assert not np.isfinite(np.asarray(aj.nets.classifier_margins(z, 0, other=other))).any()
    net = aj.nets.MLP((8,), 3)
    x = jax.random.normal(jax.random.key(1), (10, 4))
    y = jnp.arange(10) % 3
    p = aj.nets.init_ensemble(key, net, x, 3)
    acc = np.asarray(aj.nets.ensemble_accuracy(net, p, x, y))
    assert np.isfinite(acc).all()
    # model 1 diverged (NaN weights), model 2 has infinite weights: no accuracy for them
    bad = jax.tree_util.tree_map(lambda a: a.at[1].set(jnp.nan), p)
    bad["params"]["Dense_1"]["bias"] = bad["params"]["Dense_1"]["bias"].at[2, 0].set(jnp.inf)
    got = np.asarray(aj.nets.ensemble_accuracy(net, bad, x, y))
    assert got[0] == acc[0] and np.isnan(got[1:]).all()
    got = np.asarray(jax.jit(lambda q: aj.nets.ensemble_accuracy(net, q, x, y))(bad))
    assert got[0] == acc[0] and np.isnan(got[1:]).all()
    m = np.asarray(aj.nets.ensemble_margins(net, bad, x, y))
    assert np.isfinite(m[0]).all() and not np.isfinite(m[1:]).any()


def test_models_shapes(key):
    x = jnp.zeros((2, 8, 8, 1))
    for net in (aj.nets.MLP((16,), 10), aj.nets.SmallCNN((4, 8), 10)):
        p = aj.nets.init_ensemble(key, net, x, 3)
        assert aj.nets.ensemble_logits(net, p, x).shape == (3, 2, 10)
        # the models are independent draws
        leaves = jax.tree_util.tree_leaves(p)
        assert not np.allclose(leaves[-1][0], leaves[-1][1])


def test_one_full_batch_step_matches_numpy_backprop(key):
    """epochs=1, batch = whole set: one SGD step, independent of the data order, against a
    hand-written NumPy forward and backward pass (ReLU MLP, mean cross-entropy, L2)."""
    x = np.asarray(jax.random.normal(jax.random.key(3), (12, 5)), np.float64)
    y = np.arange(12) % 3
    net = aj.nets.MLP((7,), 3)
    lr, wd = 0.3, 0.01
    p = aj.nets.train_ensemble(
        key,
        net,
        x.astype(np.float32),
        y,
        n_models=2,
        epochs=1,
        batch_size=12,
        learning_rate=lr,
        momentum=0.0,
        lam=wd,
    )
    k_init, _ = jax.random.split(key)
    p0 = aj.nets.init_ensemble(k_init, net, x.astype(np.float32), 2)
    leaves = [(layer, kind) for layer in ("Dense_0", "Dense_1") for kind in ("kernel", "bias")]
    for i in range(2):
        w1, b1, w2, b2 = (np.asarray(p0["params"][la][k][i], np.float64) for la, k in leaves)
        pre = x @ w1 + b1
        h = np.maximum(pre, 0.0)
        logits = h @ w2 + b2
        prob = np.exp(logits - logits.max(1, keepdims=True))
        prob /= prob.sum(1, keepdims=True)
        d_logits = (prob - np.eye(3)[y]) / len(y)  # d(mean cross-entropy)/d logits
        d_pre = (d_logits @ w2.T) * (pre > 0)
        grads = (x.T @ d_pre, d_pre.sum(0), h.T @ d_logits, d_logits.sum(0))
        for t, g, (layer, kind) in zip((w1, b1, w2, b2), grads, leaves, strict=True):
            ref = t - lr * (g + wd * t)  # weight decay: the gradient of (wd/2) |theta|^2
            # the library trains in float32: 1e-5 covers its rounding of one step
            np.testing.assert_allclose(np.asarray(p["params"][layer][kind][i]), ref, atol=1e-5)


def test_ensemble_learns_and_models_see_their_own_subsets(key):
    x = jax.random.normal(jax.random.key(1), (200, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(jnp.int32)
    net = aj.nets.MLP((16,), 2)
    p = aj.nets.train_ensemble(key, net, x, y, n_models=4, epochs=20, batch_size=20)
    acc = np.asarray(aj.nets.ensemble_accuracy(net, p, x, y))
    assert acc.shape == (4,) and acc.min() > 0.9  # linearly separable: easy
    # model 0 sees only class 0, model 1 only class 1: each predicts its class everywhere
    idx = jnp.stack([jnp.flatnonzero(y == 0, size=60), jnp.flatnonzero(y == 1, size=60)])
    q = aj.nets.train_ensemble(key, net, x, y, n_models=2, epochs=5, batch_size=20, indices=idx)
    pred = np.asarray(jnp.argmax(aj.nets.ensemble_logits(net, q, x), -1))
    assert (pred[0] == 0).all() and (pred[1] == 1).all()


def test_train_float32_and_bad_input(key):
    x = jnp.ones((16, 3), jnp.float32)
    y = jnp.zeros(16, jnp.int32)
    p = aj.nets.train_ensemble(key, aj.nets.MLP((4,), 2), x, y, n_models=2, epochs=1, batch_size=8)
    assert all(a.dtype == jnp.float32 for a in jax.tree_util.tree_leaves(p))
    with pytest.raises(ValueError, match="n_models"):
        aj.nets.train_ensemble(key, aj.nets.MLP((4,), 2), x, y, n_models=0, epochs=1)
    with pytest.raises(ValueError, match="batch_size"):
        aj.nets.train_ensemble(key, aj.nets.MLP((4,), 2), x, y, n_models=2, epochs=1, batch_size=17)
    with pytest.raises(ValueError, match="learning_rate"):
        aj.nets.train_ensemble(
            key, aj.nets.MLP((4,), 2), x, y, n_models=2, epochs=1, learning_rate=-1.0
        )


def test_load_digits():
    d = aj.nets.load_digits(test_fraction=0.25, seed=1)
    assert d.x_train.shape[1:] == (8, 8, 1) and d.x_train.shape[0] + d.x_test.shape[0] == 1797
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert set(np.unique(d.y_train)) == set(range(10))
    with pytest.raises(ValueError, match="test_fraction"):
        aj.nets.load_digits(test_fraction=1.0)


def _write_cifar(root, per_batch=4):
    rng = np.random.default_rng(0)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_batch).tolist()
        with open(root / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": b"x"}, f)
        batches[name] = (data, labels)
    return batches


def test_load_cifar10_layout_and_normalisation(tmp_path):
    batches = _write_cifar(tmp_path)
    d = aj.nets.load_cifar10(tmp_path)
    assert d.x_train.shape == (20, 32, 32, 3) and d.x_test.shape == (4, 32, 32, 3)
    raw = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    # the CIFAR row layout: 1024 red, then 1024 green, then 1024 blue, each row-major 32x32
    img = raw.astype(np.float64) / 255.0
    r, g, b = img[:, :1024], img[:, 1024:2048], img[:, 2048:]
    mu = np.array([r.mean(), g.mean(), b.mean()])
    sd = np.array([r.std(), g.std(), b.std()])
    pix = (img[3, 5 * 32 + 7], img[3, 1024 + 5 * 32 + 7], img[3, 2048 + 5 * 32 + 7])
    np.testing.assert_allclose(d.x_train[3, 5, 7], (np.array(pix) - mu) / sd, atol=1e-4)
    np.testing.assert_array_equal(d.y_test, batches["test_batch"][1])
    assert aj.nets.load_cifar10(tmp_path, max_train=7).x_train.shape[0] == 7


def test_load_cifar10_missing_file(tmp_path):
    _write_cifar(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        aj.nets.load_cifar10(tmp_path)
