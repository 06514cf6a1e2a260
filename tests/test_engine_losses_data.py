"""Losses, data generators and objectives against independent NumPy references."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj


# ----------------------------------------------------------------------------- losses
def test_losses_match_numpy_and_are_stable() -> None:
    m = np.linspace(-30.0, 30.0, 61)
    np.testing.assert_allclose(aj.exp_loss(m), np.exp(-m), rtol=1e-15)
    # log1p(exp(-m)) is accurate for m > -30 in float64 (no overflow there).
    np.testing.assert_allclose(aj.logistic_loss(m), np.log1p(np.exp(-m)), rtol=1e-14)
    # extreme margins: no overflow (-m for m -> -inf), tail e^{-m} kept for m -> +inf
    assert float(aj.logistic_loss(-1e4)) == 1e4
    np.testing.assert_allclose(float(aj.logistic_loss(50.0)), np.exp(-50.0), rtol=1e-14)
    # float32 in, float32 out
    assert aj.logistic_loss(jnp.ones(3, jnp.float32)).dtype == jnp.float32


def test_loss_gradients() -> None:
    m = jnp.linspace(-5.0, 5.0, 11)
    g = jax.vmap(jax.grad(aj.logistic_loss))(m)
    np.testing.assert_allclose(g, -1.0 / (1.0 + np.exp(np.asarray(m))), rtol=1e-14)
    g = jax.vmap(jax.grad(aj.exp_loss))(m)
    np.testing.assert_allclose(g, -np.exp(-np.asarray(m)), rtol=1e-14)


def test_logistic_second_derivative_through_custom_jvp() -> None:
    # l''(m) = sigmoid(m) sigmoid(-m) for the logistic loss; e^{-m} for the proxy
    m = np.linspace(-8.0, 8.0, 9)
    h = jax.vmap(jax.grad(jax.grad(aj.logistic_loss)))(jnp.asarray(m))
    # JAX differentiates sigmoid as s (1 - s), which cancels for s -> 1: relative error
    # ~ eps * e^{|m|} = 2.2e-16 * e^8 ~ 7e-13 at the ends of this grid
    np.testing.assert_allclose(h, 1 / (1 + np.exp(-m)) / (1 + np.exp(m)), rtol=2e-12)
    h = jax.vmap(jax.hessian(aj.exp_loss))(jnp.asarray(m))
    np.testing.assert_allclose(h, np.exp(-m), rtol=1e-14)
    # extreme margins: finite, correctly saturated derivatives
    g = jax.grad(aj.logistic_loss)
    assert float(g(-1e4)) == -1.0 and float(g(1e4)) == 0.0


def test_get_loss() -> None:
    assert aj.get_loss("exp") is aj.exp_loss
    assert aj.get_loss("logistic") is aj.logistic_loss
    assert set(aj.LOSSES) == {"exp", "logistic"}
    custom = lambda m: m**2  # noqa: E731
    assert aj.get_loss(custom) is custom
    with pytest.raises(ValueError, match="loss"):
        aj.get_loss("hinge")


# ----------------------------------------------------------------------------- data
def test_one_coordinate_counts_and_layout() -> None:
    d = aj.one_coordinate_data(None, 5, 0.3, n_retain=100, n_forget=10)
    assert d.x.shape == (12, 1) and d.y.shape == d.forget.shape == d.weight.shape == (12,)
    np.testing.assert_allclose(float(d.n_retain), 100.0, rtol=1e-15)
    np.testing.assert_allclose(float(d.n_forget), 10.0, rtol=1e-15)
    # forget block on the same coordinate with total weight alpha * |R_j|
    block_f = np.asarray(d.forget) & (np.asarray(d.x[:, 0]) != 0)
    np.testing.assert_allclose(np.sum(np.asarray(d.weight)[block_f]), 1.5, rtol=1e-15)
    yx = np.asarray(d.y) * np.asarray(d.x[:, 0])
    np.testing.assert_array_equal(yx, [1.0] * 10 + [0.0, 0.0])  # 2 |R_j| block rows, 2 filler


def test_cross_correlated_layout() -> None:
    d = aj.cross_correlated_data(None, 0.8, 0.05, block_size=50, n_retain=900, n_forget=100)
    x = np.asarray(d.x)
    f = np.asarray(d.forget)
    w = np.asarray(d.weight)
    assert x.shape == (102, 2)
    assert np.all(x[:50] == [1.0, 0.8]) and np.all(x[50:100] == [0.8, 1.0])
    assert np.all(x[100:] == 0)
    np.testing.assert_allclose(w[~f].sum(), 900.0, rtol=1e-15)
    np.testing.assert_allclose(w[f].sum(), 100.0, rtol=1e-15)
    np.testing.assert_allclose(w[50:100].sum(), 0.05 * 50, rtol=1e-14)


def test_noise_goes_to_block_rows_only(key) -> None:
    d = aj.cross_correlated_data(key, 0.5, 0.1, block_size=20, n_retain=100, n_forget=10, noise=0.1)
    x = np.asarray(d.x)
    assert np.all(x[-2:] == 0)  # filler untouched
    dev = x[:40] - np.where(np.arange(40)[:, None] < 20, [1.0, 0.5], [0.5, 1.0])
    assert np.all(dev != 0)
    # 80 N(0, 0.1^2) draws: sample std within 30 % of 0.1 (chi^2 with 80 dof, >5 sigma)
    assert 0.07 < dev.std() < 0.13
    # reproducible from the key
    d2 = aj.cross_correlated_data(
        key, 0.5, 0.1, block_size=20, n_retain=100, n_forget=10, noise=0.1
    )
    np.testing.assert_array_equal(d.x, d2.x)


def test_generators_vmap_over_alpha_rho_and_keys(key) -> None:
    alphas = jnp.array([0.1, 0.2, 0.5])
    d = jax.vmap(lambda a: aj.one_coordinate_data(None, 4, a, 50, 10))(alphas)
    np.testing.assert_allclose(d.n_forget, [10.0] * 3, rtol=1e-15)
    keys = jax.random.split(key, 3)
    d = jax.vmap(
        lambda r, a, k: aj.cross_correlated_data(
            k, r, a, block_size=4, n_retain=50, n_forget=10, noise=0.1
        )
    )(jnp.array([0.1, 0.5, 0.9]), alphas, keys)
    assert d.x.shape == (3, 10, 2)
    x = np.asarray(d.x)
    assert not np.allclose(x[0, :4] - [1, 0.1], x[1, :4] - [1, 0.5])  # per-key noise
    d = jax.jit(aj.one_coordinate_data, static_argnums=1)(None, 3, 0.5, 20, 5)
    assert d.x.shape == (8, 1)


def test_grad_through_generator_weights() -> None:
    # forget mean on the one-coordinate data = [alpha |R_j| e^{-w} + (|F| - alpha |R_j|) e^0]/|F|
    # (the filler weight shrinks as alpha grows), so with |R_j| = 5, |F| = 10:
    # d L_DA / d alpha = -0.5 (e^{-w} - 1)
    def f(alpha):
        data = aj.one_coordinate_data(None, 5, alpha, n_retain=100, n_forget=10)
        return aj.da_objective(jnp.array([0.7]), data, 0.01)

    np.testing.assert_allclose(float(jax.grad(f)(0.3)), -0.5 * (np.exp(-0.7) - 1), rtol=1e-14)

    # and with respect to rho: retain margin w1 + rho w2 moves with rho
    def g(rho):
        data = aj.cross_correlated_data(None, rho, 0.1, block_size=5, n_retain=50, n_forget=5)
        return aj.retain_loss(jnp.array([0.2, 0.4]), data)

    # (1/|R|) sum_R e^{-(w1 + rho w2)} over |S_i| = 5 rows: derivative -0.1 * 0.4 e^{-m}
    np.testing.assert_allclose(
        float(jax.grad(g)(0.5)), -0.1 * 0.4 * np.exp(-(0.2 + 0.5 * 0.4)), rtol=1e-14
    )


def test_dtype_follows_request() -> None:
    d = aj.one_coordinate_data(None, 3, 0.5, 20, 5, dtype=jnp.float32)
    assert d.x.dtype == d.weight.dtype == jnp.float32
    d = aj.one_coordinate_data(None, 3, 0.5, 20, 5)  # x64 on in the tests: JAX default float
    assert d.x.dtype == jnp.float64


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(block_size=0), "block_size"),
        (dict(alpha=-0.1), "alpha"),
        (dict(n_retain=3), "n_retain"),
        (dict(n_forget=1.0), "n_forget"),  # alpha * block_size = 2.5 > 1
        (dict(noise=-1.0), "noise"),
        (dict(noise=0.1), "key"),
        (dict(alpha=float("nan")), "alpha"),
    ],
)
def test_one_coordinate_bad_input(kwargs, match) -> None:
    args = dict(block_size=5, alpha=0.5, n_retain=100, n_forget=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        aj.one_coordinate_data(None, **args)


def test_cross_correlated_bad_input() -> None:
    with pytest.raises(ValueError, match="rho"):
        aj.cross_correlated_data(None, 1.0, 0.1, block_size=5, n_retain=100, n_forget=10)
    with pytest.raises(ValueError, match="block_size"):
        aj.cross_correlated_data(None, 0.5, 0.1, block_size=0, n_retain=100, n_forget=10)
    with pytest.raises(TypeError, match="dtype"):
        aj.one_coordinate_data(None, 2, 0.1, 10, 5, dtype=jnp.int32)


# ----------------------------------------------------------------------------- objectives
def _np_objectives(w, d, lam, loss):
    x, y, f, v = (np.asarray(a) for a in d)
    m = y * (x @ w)
    ell = np.exp(-m) if loss == "exp" else np.log1p(np.exp(-m))
    ridge = 0.5 * lam * np.sum(w**2)
    lr = np.sum(v[~f] * ell[~f]) / np.sum(v[~f])
    lf = np.sum(v[f] * ell[f]) / np.sum(v[f])
    ld = np.sum(v * ell) / np.sum(v)
    return ld + ridge, lr + ridge, lr - lf + ridge


@pytest.mark.parametrize("loss", ["exp", "logistic"])
def test_objectives_and_gradients_vs_numpy(loss, key) -> None:
    d = aj.cross_correlated_data(key, 0.6, 0.3, block_size=6, n_retain=40, n_forget=7, noise=0.3)
    w = np.array([0.4, -0.7])
    lam = 0.05
    ref = _np_objectives(w, d, lam, loss)
    fns = (aj.pretrain_objective, aj.retain_objective, aj.da_objective)
    for fn, r in zip(fns, ref):
        np.testing.assert_allclose(float(fn(w, d, lam, loss)), r, rtol=1e-13)
        # central differences with h = 1e-5: truncation O(h^2) ~ 1e-10, rounding ~ 1e-11
        g = np.asarray(jax.grad(fn)(jnp.asarray(w), d, lam, loss))
        for k in range(2):
            e = np.eye(2)[k] * 1e-5
            fd = (
                _np_objectives(w + e, d, lam, loss)[fns.index(fn)]
                - _np_objectives(w - e, d, lam, loss)[fns.index(fn)]
            ) / 2e-5
            np.testing.assert_allclose(g[k], fd, rtol=1e-7, atol=1e-9)


def test_one_coordinate_gradient_closed_form() -> None:
    # d/dw L_R = -(|R_j|/|R|) e^{-w} + lam w on the noiseless one-coordinate data
    d = aj.one_coordinate_data(None, 5, 0.5, n_retain=100, n_forget=10)
    for w in (-1.0, 0.0, 2.0):
        g = float(jax.grad(aj.retain_objective)(jnp.array([w]), d, 0.01)[0])
        np.testing.assert_allclose(g, -0.05 * np.exp(-w) + 0.01 * w, rtol=1e-14)
        g = float(jax.grad(aj.da_objective)(jnp.array([w]), d, 0.01)[0])
        np.testing.assert_allclose(g, -(0.05 - 0.25) * np.exp(-w) + 0.01 * w, rtol=1e-14)


def test_empty_forget_set_gives_zero_not_nan() -> None:
    d = aj.one_coordinate_data(None, 5, 0.0, n_retain=100, n_forget=0)
    assert float(aj.forget_loss(jnp.ones(1), d)) == 0.0
    # no forget term: L_DA = L_R = (5 e^{-1} + 95 e^0)/100 + (0.1/2) 1^2 (95 filler samples)
    want = (5 * np.exp(-1.0) + 95.0) / 100 + 0.05
    np.testing.assert_allclose(float(aj.da_objective(jnp.ones(1), d, 0.1)), want, rtol=1e-14)


def test_objectives_vmap_jit() -> None:
    d = aj.one_coordinate_data(None, 5, 0.5, n_retain=100, n_forget=10)
    ws = jnp.linspace(-1, 1, 4)[:, None]
    out = jax.jit(jax.vmap(aj.retain_objective, in_axes=(0, None, None)))(ws, d, 0.01)
    ref = [0.05 * np.exp(-w) + 0.95 + 0.005 * w**2 for w in np.linspace(-1, 1, 4)]
    np.testing.assert_allclose(out, ref, rtol=1e-14)
