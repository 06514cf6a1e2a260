"""ascentjax.lambertw against mpmath (50 digits) and scipy, in float64 and float32.

Error measure (THEORY.md §2): relative error in ulp, multiplied by min(|1 + W|, 1).
Near the branch point W has a square-root singularity, so a perturbation of one ulp in
z moves W by ~ulp/|1 + W|: that factor is the condition number, and an algorithm can
only be asked to be accurate relative to it.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.special

from ascentjax import lambertw

INV_E = 1.0 / math.e


def _ref(z: np.ndarray, branch: int) -> np.ndarray:
    with mpmath.workdps(50):
        return np.array([float(mpmath.lambertw(mpmath.mpf(float(v)), branch).real) for v in z])


def _scaled_ulp_error(z: np.ndarray, branch: int, dtype) -> float:
    z = np.asarray(z, dtype)
    got = np.asarray(lambertw(jnp.asarray(z), branch), dtype=np.float64)
    want = _ref(z, branch)
    eps = np.finfo(dtype).eps
    rel = np.abs(got - want) / np.abs(want) / eps
    return float(np.max(rel * np.minimum(np.abs(1.0 + want), 1.0)))


# float64: the docstring promises <= 2 scaled ulp; the measured maximum is 0.995
# (float32: 0.84), so the bounds leave room for platform differences in exp/log.
# float32: "a few ulp"; the inputs are float32 but the reference is exact, so the
# rounding of the result alone contributes 0.5 ulp.
CASES = [
    ("W0 z>0 over 600 decades", np.logspace(-300, 300, 1201), 0),
    ("W0 z<0 down to -1/e", -np.logspace(-300, np.log10(INV_E) - 1e-12, 601), 0),
    ("W0 approaching -1/e", -INV_E + np.logspace(-16, -1, 301), 0),
    ("W-1 approaching 0-", -np.logspace(-300, -1, 601), -1),
    ("W-1 approaching -1/e", -INV_E + np.logspace(-16, -0.5, 301), -1),
]


@pytest.mark.parametrize("name,z,branch", CASES, ids=[c[0] for c in CASES])
def test_float64_accuracy_vs_mpmath(name, z, branch):
    assert _scaled_ulp_error(z, branch, np.float64) <= 2.0


F32_CASES = [
    ("W0 z>0", np.logspace(-37, 38, 301), 0),
    ("W0 near -1/e", -INV_E + np.logspace(-7, -0.5, 101), 0),
    ("W-1 near 0-", -np.logspace(-37, -1, 201), -1),
    ("W-1 near -1/e", -INV_E + np.logspace(-7, -0.5, 101), -1),
]


@pytest.mark.parametrize("name,z,branch", F32_CASES, ids=[c[0] for c in F32_CASES])
def test_float32_accuracy_vs_mpmath(name, z, branch):
    assert lambertw(jnp.asarray(z, jnp.float32), branch).dtype == jnp.float32
    assert _scaled_ulp_error(z, branch, np.float32) <= 4.0


def test_agrees_with_scipy_away_from_branch_point():
    # Both are within ~1 ulp of the exact value here (mpmath tests above for ours), so
    # they may differ by ~2 ulp; 1e-15 is 4.5 ulp, tight enough to catch a wrong branch.
    z = np.concatenate([np.logspace(-10, 10, 101), -np.linspace(0.01, 0.36, 50)])
    np.testing.assert_allclose(lambertw(z, 0), scipy.special.lambertw(z, 0).real, rtol=1e-15)
    zm = -np.linspace(0.01, 0.36, 50)
    np.testing.assert_allclose(lambertw(zm, -1), scipy.special.lambertw(zm, -1).real, rtol=1e-15)


@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_more_accurate_than_scipy_at_branch_point(transform):
    # scipy returns -1.0000000000082 at -1/e + 1e-12; W-1 is -1.0000023316. Under a caller's
    # jit too: XLA must not fold the split 1/e = hi + lo back into one constant.
    z = -INV_E + 1e-12
    want = _ref(np.array([z]), -1)[0]
    assert abs(float(transform(lambda x: lambertw(x, -1))(z)) - want) < 1e-15
    assert abs(scipy.special.lambertw(z, -1).real - want) > 1e-7


def test_defining_identity():
    z = np.concatenate([np.logspace(-5, 5, 50), -np.linspace(1e-3, INV_E - 1e-3, 50)])
    w = np.asarray(lambertw(z))
    np.testing.assert_allclose(w * np.exp(w), z, rtol=1e-14)


def test_edges_and_domain():
    w0 = np.asarray(lambertw(jnp.array([-INV_E, 0.0, np.inf, -0.5, np.nan])))
    assert w0[0] == -1.0 and w0[1] == 0.0 and w0[2] == np.inf
    assert np.isnan(w0[3]) and np.isnan(w0[4])
    wm = np.asarray(lambertw(jnp.array([-INV_E, 0.0, 0.5, -0.4]), -1))
    assert wm[0] == -1.0 and wm[1] == -np.inf and np.isnan(wm[2]) and np.isnan(wm[3])


def test_integer_input_promotes():
    assert jnp.issubdtype(lambertw(1).dtype, jnp.floating)
    assert float(lambertw(0)) == 0.0


@pytest.mark.parametrize("bad", [1, -2, 0.0, True, "0"])
def test_bad_branch(bad):
    with pytest.raises(ValueError, match="branch"):
        lambertw(1.0, bad)


def test_jit_vmap():
    # XLA may fuse/reassociate differently under jit: allow 1-2 ulp (rtol 5e-16).
    z = jnp.linspace(-0.3, 5.0, 17)
    np.testing.assert_allclose(jax.jit(lambertw)(z), lambertw(z), rtol=5e-16)
    np.testing.assert_allclose(jax.vmap(lambertw)(z), lambertw(z), rtol=5e-16)
    f = jax.jit(lambertw, static_argnums=1)
    np.testing.assert_allclose(f(-z[:5] * 0.1, -1), lambertw(-z[:5] * 0.1, -1), rtol=5e-16)


@pytest.mark.parametrize(
    "branch,z", [(0, 0.0), (0, 2.5), (0, -0.3), (0, 1e5), (-1, -0.3), (-1, -1e-3)]
)
def test_grad_matches_formula_and_finite_differences(branch, z):
    g = float(jax.grad(lambda v: lambertw(v, branch))(z))
    w = _ref(np.array([z]), branch)[0]
    formula = math.exp(-w) / (1.0 + w)  # = W / (z (1 + W)), finite at z = 0
    assert g == pytest.approx(formula, rel=1e-13)
    h = 1e-6 * max(abs(z), 1e-3)
    with mpmath.workdps(30):
        fd = (mpmath.lambertw(z + h, branch) - mpmath.lambertw(z - h, branch)).real / (2 * h)
    assert g == pytest.approx(float(fd), rel=1e-6)  # central difference error O(h^2)


def test_grad_at_branch_point_is_infinite():
    assert np.isinf(float(jax.grad(lambertw)(-INV_E)))


def test_vectorised_grad_and_second_derivative():
    z = jnp.linspace(0.1, 3.0, 7)
    g = jax.vmap(jax.grad(lambertw))(z)
    w = lambertw(z)
    np.testing.assert_allclose(g, w / (z * (1 + w)), rtol=1e-13)
    # W'' = -W^2 (W + 2) / (z^2 (1 + W)^3)
    h = jax.vmap(jax.grad(jax.grad(lambertw)))(z)
    np.testing.assert_allclose(h, -(w**2) * (w + 2) / (z**2 * (1 + w) ** 3), rtol=1e-12)
