"""The network unlearning methods added beside GA / GDA / SCRUB: each changes the model
the way its paper says.

References are written here from the papers' update rules with per-example gradients
from ``jax.grad`` of a hand-written cross-entropy and NumPy for the weights, masks and
norms (independent of the rules' code paths).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj

nets = aj.nets


@pytest.fixture(scope="module")
def small():
    x = jax.random.normal(jax.random.key(11), (40, 4))
    y = (x[:, 0] > 0).astype(jnp.int32)
    net = nets.MLP((8,), 2)
    p = nets.train_ensemble(jax.random.key(0), net, x, y, n_models=3, epochs=2, batch_size=10)
    return net, x, y, p, jnp.arange(6), jnp.arange(6, 40)


def _leaves(t):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(t)]


def _model(t, *idx):
    return jax.tree_util.tree_map(lambda a: a[idx], t)


def _log_p(net, q, xb, yb):
    z = net.apply(q, xb)
    return jnp.take_along_axis(jax.nn.log_softmax(z), yb[:, None], 1)[:, 0]


def _per_example_grads(net, q, xs, ys):
    """Gradients of log pi(y_j | x_j), one per example (vmap of grad)."""

    def one(xj, yj):
        return jax.grad(lambda w: _log_p(net, w, xj[None], yj[None])[0])(q)

    return jax.vmap(one)(xs, ys)


def run(small, rule, key=1, **kw):
    net, x, y, p, F, R = small
    kw = dict(dict(epochs=2, batch_size=6, descent_steps=1), **kw)  # one compiled shape
    return nets.unlearn_ensemble(jax.random.key(key), rule, net, p, x, y, F, R, **kw)


def test_fine_tune_never_touches_the_forget_points(small):
    net, x, y, p, F, R = small
    ft = run(small, nets.fine_tune(0.3))
    # garbage forget inputs and flipped forget labels: bit-identical result
    x2 = x.at[F].set(1e3)
    y2 = y.at[F].set(1 - y[F])
    ft2 = nets.unlearn_ensemble(
        jax.random.key(1), nets.fine_tune(0.3), net, p, x2, y2, F, R, epochs=2, batch_size=6,
        descent_steps=1,
    )  # fmt: skip
    for a, b in zip(_leaves(ft), _leaves(ft2), strict=True):
        np.testing.assert_array_equal(a, b)
    # and it is GDA without its ascent pass (same retain batches)
    gda = run(small, nets.gradient_descent_ascent(0.3, ascent_scale=0.0))
    for a, b in zip(_leaves(ft), _leaves(gda), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # float32 rounding
    assert not np.allclose(_leaves(ft)[0][-1], _leaves(p)[0])


def test_noisy_descent_is_fine_tune_plus_langevin_noise(small):
    net, x, y, p, F, R = small
    ft = run(small, nets.fine_tune(0.2))
    zero = run(small, nets.noisy_descent(0.2, noise=0.0))
    for a, b in zip(_leaves(ft), _leaves(zero), strict=True):
        np.testing.assert_array_equal(a, b)
    # one step from the same point: the difference is exactly sqrt(2 eta) sigma xi
    lr, sigma = 0.2, 0.05
    noisy = _leaves(_model(run(small, nets.noisy_descent(lr, noise=sigma)), 0))
    d = np.concatenate([(a - b).ravel() for a, b in zip(noisy, _leaves(_model(ft, 0)))])
    # 3 models x 58 weights = 174 standard normal draws: the sample sd is within 15 %
    # (about 3 standard errors of 1 / sqrt(2 * 174) = 5.4 %) and the mean within 4 / sqrt(174)
    scale = np.sqrt(2 * lr) * sigma
    assert d.size == 174
    assert abs(d.std() / scale - 1) < 0.15 and abs(d.mean() / scale) < 4 / np.sqrt(174)


def test_npo_gradient_is_the_ga_gradient_weighted_as_in_the_paper(small):
    """Full-batch NPO, two epochs. Epoch 1 starts at the reference model, where every
    weight W = 1: it is one GA step. Epoch 2 is theta - eta * mean_i W_i grad log pi_i
    with W_i = 2 pi^beta / (pi^beta + pi_ref^beta) from NumPy."""
    net, x, y, p, F, R = small
    lr, beta = 0.5, 0.7
    t = run(small, nets.npo(lr, beta=beta))
    ga = run(small, nets.gradient_ascent(lr))
    for a, b in zip(_leaves(_model(t, 0)), _leaves(_model(ga, 0)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for i in range(3):
        ref, th1 = _model(p, i), _model(t, 0, i)
        logp = np.asarray(_log_p(net, th1, x[F], y[F]), np.float64)
        logr = np.asarray(_log_p(net, ref, x[F], y[F]), np.float64)
        w = 2 * np.exp(beta * logp) / (np.exp(beta * logp) + np.exp(beta * logr))
        assert np.all((w > 0) & (w < 2)) and w.mean() < 1  # ascent lowered pi on average
        g = _per_example_grads(net, th1, x[F], y[F])
        expect = jax.tree_util.tree_map(
            lambda th, gl, w=w: th - lr * np.tensordot(w, np.asarray(gl, np.float64), 1) / 6, th1, g
        )
        for a, b in zip(_leaves(_model(t, 1, i)), _leaves(expect), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)  # float32 rounding
    # a weight of 1 everywhere (beta -> 0) is GA: NPO's second step is smaller
    step_npo = np.linalg.norm(_leaves(t)[0][1] - _leaves(t)[0][0])
    step_ga = np.linalg.norm(_leaves(ga)[0][1] - _leaves(ga)[0][0])
    assert step_npo < step_ga


def test_saliency_mask_matches_numpy_top_fraction():
    g = {"a": jnp.array([[0.5, -2.0], [0.1, 3.0]]), "b": jnp.array([-0.2, 1.0, 0.0])}
    flat = np.concatenate([np.abs(np.asarray(g["a"])).ravel(), np.abs(np.asarray(g["b"]))])
    for frac in (0.2, 0.5, 1.0):
        m = nets.saliency_mask(g, frac)
        got = np.concatenate([np.asarray(m["a"]).ravel(), np.asarray(m["b"])])
        k = int(np.ceil(frac * flat.size))
        assert got.sum() == k and set(np.argsort(-flat)[:k]) == set(np.flatnonzero(got))
    jitted = jax.jit(nets.saliency_mask)(g, 0.5)
    np.testing.assert_array_equal(jitted["b"], nets.saliency_mask(g, 0.5)["b"])


def test_salun_only_updates_the_salient_weights(small):
    net, x, y, p, F, R = small
    frac = 0.3
    t = run(small, nets.salun(0.3, saliency=frac, retain_scale=1.0))
    ga = run(small, nets.gradient_ascent(0.3))
    for i in range(3):
        th0 = _model(p, i)

        def ce(q, th0=th0):
            return -jnp.mean(_log_p(net, q, x[F], y[F]))

        g = np.concatenate([np.abs(a).ravel() for a in _leaves(jax.grad(ce)(th0))])
        k = int(np.ceil(frac * g.size))
        salient = np.zeros(g.size, bool)
        salient[np.argsort(-g, kind="stable")[:k]] = True
        final = np.concatenate([a.ravel() for a in _leaves(_model(t, -1, i))])
        start = np.concatenate([a.ravel() for a in _leaves(th0)])
        np.testing.assert_array_equal(final[~salient], start[~salient])  # frozen exactly
        assert np.mean(final[salient] != start[salient]) > 0.9  # the salient ones moved
    # the full mask with no retain steps is gradient ascent
    full = run(small, nets.salun(0.3, saliency=1.0))
    for a, b in zip(_leaves(full), _leaves(ga), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_l1_sparse_shrinks_weights_relative_to_fine_tune(small):
    ft = run(small, nets.fine_tune(0.2))
    zero = run(small, nets.l1_sparse(0.2, l1=0.0))
    for a, b in zip(_leaves(ft), _leaves(zero), strict=True):
        np.testing.assert_array_equal(a, b)
    l1 = run(small, nets.l1_sparse(0.2, l1=0.05))

    def norms(t):  # per epoch and model: the l1 norm of all weights
        return sum(np.abs(a).reshape(a.shape[0], a.shape[1], -1).sum(-1) for a in _leaves(t))

    assert np.all(norms(l1) < norms(ft))
    # the penalty decays linearly: epoch e's extra shrinkage per step is eta gamma (1 - e/E)
    # on every nonzero weight, so the gap grows each epoch
    gap = (norms(ft) - norms(l1)).mean(-1)
    assert np.all(np.diff(gap) > 0)


def test_new_rules_are_pytrees_vmappable_over_hyperparameters(small):
    lrs = jnp.array([0.05, 0.2])
    batched = jax.vmap(lambda lr: run(small, nets.npo(lr, beta=0.3, retain_scale=1.0)))(lrs)
    for i, lr in enumerate((0.05, 0.2)):
        one = run(small, nets.npo(lr, beta=0.3, retain_scale=1.0))
        for a, b in zip(_leaves(batched), _leaves(one), strict=True):
            np.testing.assert_allclose(a[i], b, rtol=1e-5, atol=1e-6)  # float32 rounding


@pytest.mark.parametrize(
    "make,name",
    [
        (lambda: nets.fine_tune(0.0), "learning_rate"),
        (lambda: nets.npo(0.1, beta=0.0), "beta"),
        (lambda: nets.npo(0.1, retain_scale=-1.0), "retain_scale"),
        (lambda: nets.noisy_descent(0.1, noise=-0.1), "noise"),
        (lambda: nets.salun(0.1, saliency=0.0), "saliency"),
        (lambda: nets.salun(0.1, saliency=1.5), "saliency"),
        (lambda: nets.l1_sparse(0.1, l1=-1.0), "l1"),
    ],
)
def test_bad_hyperparameters(make, name):
    with pytest.raises(ValueError, match=name):
        make()
