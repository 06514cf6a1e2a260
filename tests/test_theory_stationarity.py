"""aj.theory.oracle_unconverged against a gradient written out in NumPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj

LAM = 0.05


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(3)
    n, d = 12, 3
    x = rng.normal(size=(n, d))
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    forget = np.arange(n) < 4
    weight = rng.uniform(0.5, 2.0, size=n)
    data = aj.Dataset(jnp.asarray(x), jnp.asarray(y), jnp.asarray(forget), jnp.asarray(weight))
    return data, x, y, forget, weight


def _grad_norm_numpy(w, x, y, forget, weight):
    """|| grad L_R(w) || for the exponential loss, written out by hand."""
    r = ~forget
    m = y[r] * (x[r] @ w)
    g = -(weight[r] * y[r] * np.exp(-m)) @ x[r] / weight[r].sum() + LAM * w
    return np.linalg.norm(g)


def test_threshold_matches_numpy_gradient_ratio(case):
    data, x, y, forget, weight = case
    w = np.array([0.3, -0.2, 0.1])
    ratio = _grad_norm_numpy(w, x, y, forget, weight) / _grad_norm_numpy(
        np.zeros(3), x, y, forget, weight
    )
    # float64 gradients agree to ~1e-15 relative; a 1% margin on either side of the
    # NumPy ratio decides the comparison unambiguously
    assert not bool(aj.theory.oracle_unconverged(w, data, LAM, rtol=1.01 * ratio))
    assert bool(aj.theory.oracle_unconverged(w, data, LAM, rtol=0.99 * ratio))


def test_oracle_converged_zero_and_nan_not(case):
    data = case[0]
    w = aj.train_oracle(data, LAM)
    assert not bool(aj.theory.oracle_unconverged(w, data, LAM))
    assert bool(aj.theory.oracle_unconverged(jnp.zeros(3), data, LAM))
    assert bool(aj.theory.oracle_unconverged(jnp.array([jnp.nan, 0.0, 0.0]), data, LAM))


def test_jit_and_vmap_agree(case):
    data = case[0]
    ws = jnp.stack([aj.train_oracle(data, LAM), jnp.zeros(3), jnp.full(3, jnp.inf)])

    def one(w):
        return aj.theory.oracle_unconverged(w, data, LAM)

    eager = [bool(one(w)) for w in ws]
    assert eager == [False, True, True]
    assert jax.vmap(jax.jit(one))(ws).tolist() == eager


def test_negative_rtol_rejected(case):
    with pytest.raises(ValueError, match="rtol"):
        aj.theory.oracle_unconverged(jnp.zeros(3), case[0], LAM, rtol=-1.0)
