"""Long-run behaviour of the DA maps (ascentjax._dynamics) against independent references.

References: plain NumPy iteration of the maps written out by hand (float64), scipy root
finding (brentq / fsolve) on the iterated map, mpmath's Lambert W for the stationary points
of L_DA, and textbook facts about the logistic map (period 2 at 3.2, period 4 at 3.5,
Lyapunov exponent ln 2 at 4).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import optimize

import ascentjax as aj

R, LAM = 0.05, 0.01  # THEORY.md §2.1


def one(r, f, lam):
    """The one-coordinate problem with r = |R_j|/|R|, f = alpha |R_j|/|F| and ridge lam."""
    return aj.OneCoordinate(f / r, lam, block_size=r, n_retain=1.0, n_forget=1.0)


# ----------------------------------------------------------------------------- NumPy references
def np_iterative(w, eta, f, r=R, lam=LAM):
    w1 = w - eta * (-r * np.exp(-w) + lam * w)
    return w1 - eta * f * np.exp(-w1) - eta * lam * w1


def np_iterative_deriv(w, eta, f, r=R, lam=LAM):
    w1 = w - eta * (-r * np.exp(-w) + lam * w)
    return (1 - eta * r * np.exp(-w) - eta * lam) * (1 + eta * f * np.exp(-w1) - eta * lam)


def np_orbit(w, eta, f, n_transient, n_record):
    for _ in range(n_transient):
        w = np_iterative(w, eta, f)
    out = []
    for _ in range(n_record):
        w = np_iterative(w, eta, f)
        out.append(w)
    return np.array(out)


def regime(code) -> str:
    return aj.theory.REGIMES[int(code)]


# ----------------------------------------------------------------------------- THEORY.md §2.1
# (eta, f, value stated in THEORY.md §2.1, rounded to 2 decimals there)
SPURIOUS = [
    (1.0, 0.06, -0.45),
    (1.0, 0.10, -2.48),
    (1.0, 0.15, -3.02),
    (1.0, 0.20, -3.27),
    (0.1, 0.06, -3.27),
    (0.1, 0.10, -4.90),
    (0.1, 0.15, -5.38),
    (0.1, 0.20, -5.62),
]


@pytest.mark.parametrize("eta,f,stated", SPURIOUS)
def test_theory_spurious_fixed_points(eta, f, stated):
    """§2.1: for f in [0.06, 0.2] L_DA (ridge 2λ) has no stationary point, yet the map converges."""
    # No stationary point: w e^w = (r - f)/(2λ) < -1/e (case 3), exactly.
    assert (R - f) / (2 * LAM) < -1 / np.e
    ref = np_orbit(1.0, eta, f, 30_000, 4)
    assert np.ptp(ref) < 1e-12  # plain NumPy has converged
    assert abs(ref[-1] - stated) <= 0.005 + 1e-12  # THEORY rounds to 2 decimals
    # n_transient long enough for the slowest case (eta = 0.1, f = 0.06: contraction ~ 1e-3).
    out = aj.theory.classify_da(one(R, f, LAM), eta, n_transient=30_000)
    assert regime(out.regime) == "spurious"
    assert int(out.period) == 1
    # float64 fixed point: agreement to a few ulps times the condition 1/(1 - T').
    assert abs(float(out.w_final) - ref[-1]) < 1e-9
    assert float(out.lyapunov) < 0  # attracting


def test_theory_period_three_at_eta_one():
    """§2.1: f = 0.3, eta = 1 settles on a period-3 orbit ≈ (−1.93, −2.98, −4.09)."""
    ref = np_orbit(1.0, 1.0, 0.3, 5_000, 6)
    np.testing.assert_allclose(ref[:3], ref[3:], atol=1e-10)  # period 3 in NumPy too
    assert abs(ref[1] - ref[0]) > 0.5
    np.testing.assert_allclose(np.sort(ref[:3]), [-4.09, -2.98, -1.93], atol=0.005)
    out = aj.theory.classify_da(one(R, 0.3, LAM), 1.0)
    assert regime(out.regime) == "periodic" and int(out.period) == 3
    np.testing.assert_allclose([out.orbit_min, out.orbit_max], [ref.min(), ref.max()], atol=1e-9)
    # Multiplier of the cycle = product of T' over the orbit (NumPy, analytic derivative).
    mult = np.prod([np_iterative_deriv(w, 1.0, 0.3) for w in ref[:3]])
    assert abs(mult) < 1
    assert float(out.lyapunov) == pytest.approx(np.log(abs(mult)) / 3, abs=1e-8)


def test_theory_aperiodic_at_eta_point_one():
    """§2.1: f = 0.3, eta = 0.1: aperiodic orbit in about [−6.5, −3.9]; chaotic (Λ > 0)."""
    w = np_orbit(1.0, 0.1, 0.3, 2_000, 1)[-1]
    # NumPy Lyapunov exponent over 8 windows of 4096 steps (analytic derivative).
    windows = []
    for _ in range(8):
        s = 0.0
        for _ in range(4096):
            s += np.log(abs(np_iterative_deriv(w, 0.1, 0.3)))
            w = np_iterative(w, 0.1, 0.3)
        windows.append(s / 4096)
    lyap_np, spread = np.mean(windows), np.std(windows)
    assert lyap_np > 0.4 and spread < 0.01
    out = aj.theory.classify_da(one(R, 0.3, LAM), 0.1, n_transient=2_000, n_record=4096)
    assert regime(out.regime) == "chaotic" and int(out.period) == 0
    # Different windows of a chaotic orbit: allow ~10 window standard deviations.
    assert float(out.lyapunov) == pytest.approx(lyap_np, abs=10 * max(spread, 3e-3))
    assert -6.6 < float(out.orbit_min) < -6.3 and -4.1 < float(out.orbit_max) < -3.8


# ----------------------------------------------------------------------------- root finding
def test_atlas_fixed_points_are_roots_of_the_iterated_map():
    """Every grid point classified as a fixed point is a root of T(w) - w (scipy brentq)."""
    eta = np.array([0.3, 1.0, 3.0, 10.0])[:, None]
    f = np.array([0.0, 0.03, 0.055, 0.08, 0.12, 0.18])[None, :]
    out = aj.theory.classify_da(one(R, f, LAM), eta, n_transient=6_000)
    codes = np.asarray(out.regime)
    assert np.isin(codes, [0, 1]).sum() >= 20  # most of this grid is a fixed point
    for i, j in zip(*np.nonzero(np.isin(codes, [0, 1]))):
        e, ff, w = eta[i, 0], f[0, j], float(out.w_final[i, j])
        root = optimize.brentq(lambda x, e=e, ff=ff: np_iterative(x, e, ff) - x, w - 0.2, w + 0.2)
        assert abs(w - root) < 1e-8, (e, ff)
        assert abs(np_iterative_deriv(root, e, ff)) < 1  # stable, as an attractor must be
        # "da" vs "spurious" agrees with the gradient flow integrated independently (scipy).
        z = (R - ff) / (2 * LAM)
        flow_converges = z >= 0 or (z >= -1 / np.e and root > float(mpmath.lambertw(z, -1).real))
        assert regime(codes[i, j]) == ("da" if flow_converges else "spurious")


def test_period_three_orbit_points_are_roots_of_the_third_iterate():
    out = aj.theory.classify_da(one(R, 0.3, LAM), 1.0)
    orbit = aj.theory.da_orbit(one(R, 0.3, LAM), 1.0, n_record=3)
    for w in np.asarray(orbit):
        root = optimize.brentq(
            lambda x: np_iterative(np_iterative(np_iterative(x, 1.0, 0.3), 1.0, 0.3), 1.0, 0.3) - x,
            w - 1e-3,  # the cycle's multiplier is 0.1: T^3(x) - x has slope ~ -0.9 here
            w + 1e-3,
        )
        assert abs(w - root) < 1e-8
    assert float(out.orbit_min) == pytest.approx(np.asarray(orbit).min(), abs=1e-10)


# ----------------------------------------------------------------------------- simultaneous, flow
@pytest.mark.parametrize("f", [0.0, 0.03, 0.05, 0.055])
def test_simultaneous_converges_to_the_lambert_w_stationary_point(f):
    """Gradient descent on L_DA (ridge 2λ) converges to W0((r - f)/(2λ)) (mpmath)."""
    out = aj.theory.classify_da(one(R, f, LAM), 1.0, scheme="simultaneous", n_transient=6_000)
    w_da = float(mpmath.lambertw((R - f) / (2 * LAM), 0).real)
    assert regime(out.regime) == "da"
    assert abs(float(out.w_final) - w_da) < 1e-9
    assert float(out.residual) < 1e-12  # a true stationary point


def test_simultaneous_has_no_spurious_fixed_points():
    """w = w - η∇L ⇔ ∇L = 0: a gradient step cannot create fixed points."""
    eta = np.geomspace(0.1, 50, 24)[:, None]
    f = np.linspace(0, 0.4, 24)[None, :]
    codes = np.asarray(aj.theory.classify_da(one(R, f, LAM), eta, scheme="simultaneous").regime)
    assert not np.any(codes == aj.theory.REGIMES.index("spurious"))
    # Case 3 (no stationary point) at moderate eta: the run-off to −∞ is detected.
    case3 = (R - f) / (2 * LAM) < -1 / np.e
    assert np.all(codes[:, case3[0]][eta[:, 0] > 0.5] == aj.theory.REGIMES.index("divergent"))


@pytest.mark.parametrize("side", [-1, 1])
def test_flow_basin_boundary_is_the_w_minus_one_maximum(side):
    """Case 2: the gradient flow converges iff it starts right of W_{-1}(z) (mpmath)."""
    f = 0.055
    z = (R - f) / (2 * LAM)
    w_max = float(mpmath.lambertw(z, -1).real)
    w0 = w_max + side * 1e-3
    # Leaving the unstable maximum is slow (rate |L''|/s per step): long transient.
    out = aj.theory.classify_da(one(R, f, LAM), 1.0, scheme="flow", w0=w0, n_transient=8_000)
    assert regime(out.regime) == ("da" if side > 0 else "divergent")
    if side > 0:
        assert abs(float(out.w_final) - float(mpmath.lambertw(z, 0).real)) < 1e-9


def test_branch_boundaries_match_the_lambert_w_branch_point():
    lo, hi = aj.theory.case_boundaries(one(R, 0.0, 2 * LAM))
    assert float(lo) == 1.0
    # At f/r = hi the Lambert-W argument is exactly -1/e.
    assert (R - float(hi) * R) / (2 * LAM) == pytest.approx(-1 / np.e, rel=1e-14)
    just_in, just_out = (float(hi) - 1e-3) * R, (float(hi) + 1e-3) * R
    # Just past a saddle-node the flow lingers near the ghost: long transient.
    flow = aj.theory.classify_da(
        one(R, jnp.array([just_in, just_out]), LAM), 1.0, scheme="flow", n_transient=20_000
    )
    assert [regime(c) for c in flow.regime] == ["da", "divergent"]


# ----------------------------------------------------------------------------- the classifier
@pytest.mark.parametrize(
    "a,expected,period", [(2.5, "da", 1), (3.2, "periodic", 2), (3.5, "periodic", 4)]
)
def test_classify_orbit_logistic_map(a, expected, period):
    out = aj.theory.classify_orbit(lambda w: a * w * (1 - w), jnp.array([0.3]))
    assert regime(out.regime) == expected and int(out.period) == period


def test_classify_orbit_logistic_lyapunov_is_ln2():
    """The logistic map at a = 4 has Lyapunov exponent ln 2 (Ulam–von Neumann)."""
    out = aj.theory.classify_orbit(
        lambda w: 4.0 * w * (1 - w), jnp.array([0.1234]), n_transient=100, n_record=20_000
    )
    assert regime(out.regime) == "chaotic"
    # Time average over 2e4 steps of a chaotic orbit: statistical error ~ 1e-2.
    assert float(out.lyapunov) == pytest.approx(np.log(2), abs=0.03)


def test_divergence_is_detected_before_overflow_float32():
    out = aj.theory.classify_da(
        one(jnp.float32(R), jnp.float32(0.4), jnp.float32(LAM)),
        jnp.float32(1.0),
        scheme="simultaneous",
    )
    assert out.w_final.dtype == jnp.float32
    assert regime(out.regime) == "divergent"
    assert np.isfinite(float(out.w_final)) and abs(float(out.w_final)) <= 0.5 * np.log(3.4e38)


def test_float32_agrees_with_float64_on_theory_cases():
    eta = jnp.array([1.0, 1.0, 1.0, 0.1])
    f = jnp.array([0.02, 0.1, 0.3, 0.3])
    out32 = aj.theory.classify_da(one(R, f, LAM), eta, dtype=jnp.float32)
    out64 = aj.theory.classify_da(one(R, f, LAM), eta, dtype=jnp.float64)
    assert out32.lyapunov.dtype == jnp.float32
    np.testing.assert_array_equal(out32.regime, out64.regime)
    assert [regime(c) for c in out32.regime] == ["da", "spurious", "periodic", "chaotic"]
    # float32 fixed points: sqrt(eps32)-level agreement is what the classifier asks for.
    np.testing.assert_allclose(out32.w_final[:2], out64.w_final[:2], atol=1e-4)


# ----------------------------------------------------------------------------- jit / vmap / grad
def test_step_jit_vmap_grad():
    w = jnp.linspace(-3.0, 2.0, 7)
    direct = aj.theory.da_step(one(R, 0.1, LAM), w, 0.7)
    jitted = jax.jit(lambda x: aj.theory.da_step(one(R, 0.1, LAM), x, 0.7))(w)
    vmapped = jax.vmap(lambda x: aj.theory.da_step(one(R, 0.1, LAM), x, 0.7))(w)
    np.testing.assert_allclose(jitted, direct, rtol=1e-14)
    np.testing.assert_allclose(vmapped, direct, rtol=1e-14)
    np.testing.assert_allclose(direct, np_iterative(np.asarray(w), 0.7, 0.1), rtol=1e-14)
    grads = jax.vmap(jax.grad(lambda x: aj.theory.da_step(one(R, 0.1, LAM), x, 0.7)))(w)
    np.testing.assert_allclose(grads, np_iterative_deriv(np.asarray(w), 0.7, 0.1), rtol=1e-12)


def test_classify_under_jit_and_vmap():
    f = jnp.array([0.02, 0.1, 0.3])
    ref = aj.theory.classify_da(one(R, f, LAM), 1.0)
    jitted = jax.jit(lambda ff: aj.theory.classify_da(one(R, ff, LAM), 1.0))(f)
    vmapped = jax.vmap(lambda ff: aj.theory.classify_da(one(R, ff, LAM), 1.0))(f)
    for got in (jitted, vmapped):
        np.testing.assert_array_equal(got.regime, ref.regime)
        np.testing.assert_allclose(got.w_final, ref.w_final, rtol=1e-12)
    # chunking does not change results
    chunked = aj.theory.classify_da(one(R, f, LAM), 1.0, chunk_size=1)
    np.testing.assert_array_equal(chunked.regime, ref.regime)


def test_validation_errors():
    with pytest.raises(ValueError, match="scheme"):
        aj.theory.classify_da(one(R, 0.1, LAM), 1.0, scheme="bogus")
    with pytest.raises(ValueError, match="learning_rate"):
        aj.theory.classify_da(one(R, 0.1, LAM), 0.0)
    with pytest.raises(ValueError, match="alpha"):
        aj.theory.da_step(one(R, -0.1, LAM), 1.0, 1.0)
    with pytest.raises(ValueError, match="n_record"):
        aj.theory.classify_da(one(R, 0.1, LAM), 1.0, n_record=10)
    with pytest.raises(ValueError, match="rho"):
        aj.theory.classify_da(aj.Block(1.0, 0.05, 0.01), 1.0)
    with pytest.raises(ValueError, match="w0"):
        aj.theory.classify_da(aj.Block(0.8, 0.05, 0.01), 1.0, w0=(1.0, 2.0, 3.0))


# ----------------------------------------------------------------------------- 2-D block (§3)
A, C_PER_ALPHA, EPS = 50 / 900, 50 / 100, 0.8


def np_iterative_2d(w, eta, alpha, lam=LAM):
    c = alpha * C_PER_ALPHA
    x = w[0] + EPS * w[1]
    w1 = w - eta * (-A * np.exp(-x) * np.array([1.0, EPS]) + lam * w)
    y = EPS * w1[0] + w1[1]
    return w1 - eta * (c * np.exp(-y) * np.array([EPS, 1.0]) + lam * w1)


def np_grad_lda_2d(w, alpha, lam_da=2 * LAM):
    c = alpha * C_PER_ALPHA
    x, y = w[0] + EPS * w[1], EPS * w[0] + w[1]
    return (
        -A * np.exp(-x) * np.array([1.0, EPS]) + c * np.exp(-y) * np.array([EPS, 1.0]) + lam_da * w
    )


def test_2d_iterative_matches_numpy_and_fixed_points_are_roots():
    w = np.array([0.7, -0.4])
    got = aj.theory.da_step(aj.Block(0.8, 0.05, 0.01), jnp.asarray(w), 0.9)
    np.testing.assert_allclose(got, np_iterative_2d(w, 0.9, 0.05), rtol=1e-14)
    out = aj.theory.classify_da(
        aj.Block(0.8, jnp.array([0.02, 0.05]), 0.01), jnp.array([0.5, 5.0]), n_transient=6_000
    )
    for k in range(2):
        assert regime(out.regime[k]) == "da"
        e, al = [0.5, 5.0][k], [0.02, 0.05][k]
        root = optimize.fsolve(lambda v, e=e, al=al: np_iterative_2d(v, e, al) - v, out.w_final[k])
        np.testing.assert_allclose(out.w_final[k], root, atol=1e-9)


def test_2d_simultaneous_fixed_point_is_stationary_and_flow_agrees():
    out = aj.theory.classify_da(
        aj.Block(0.8, 0.05, 0.01), 1.0, scheme="simultaneous", n_transient=6_000
    )
    flow = aj.theory.classify_da(aj.Block(0.8, 0.05, 0.01), 1.0, scheme="flow")
    assert regime(out.regime) == "da" and regime(flow.regime) == "da"
    # Independent: scipy root of the hand-written gradient of L_DA (ridge 2λ).
    root = optimize.fsolve(lambda v: np_grad_lda_2d(v, 0.05), np.ones(2), xtol=1e-13)
    np.testing.assert_allclose(out.w_final, root, atol=1e-9)
    np.testing.assert_allclose(flow.w_final, root, atol=1e-9)
    # Beyond the last alpha with a stationary point the flow diverges.
    assert (
        regime(aj.theory.classify_da(aj.Block(0.8, 0.3, 0.01), 1.0, scheme="flow").regime)
        == "divergent"
    )


def test_2d_spurious_fixed_point_exists():
    """The η² term stops the divergence in 2-D too: a fixed point where the flow diverges."""
    out = aj.theory.classify_da(aj.Block(0.8, 0.2, 0.01), 10.0, n_transient=6_000)
    assert regime(out.regime) == "spurious"
    w = np.asarray(out.w_final)
    np.testing.assert_allclose(np_iterative_2d(w, 10.0, 0.2), w, atol=1e-9)
    g = np_grad_lda_2d(w, 0.2)
    assert np.max(np.abs(g)) > 1e-3  # not a stationary point of L_DA


def test_2d_step_jacobian_and_boundaries_grad():
    """jax.jacfwd of the 2-D map against central differences of the NumPy map."""
    w = np.array([0.3, -0.2])
    jac = np.asarray(
        jax.jacfwd(lambda v: aj.theory.da_step(aj.Block(0.8, 0.1, 0.01), v, 0.9))(jnp.asarray(w))
    )
    h = 1e-6
    fd = np.stack(
        [
            (np_iterative_2d(w + h * e, 0.9, 0.1) - np_iterative_2d(w - h * e, 0.9, 0.1)) / (2 * h)
            for e in np.eye(2)
        ],
        axis=1,
    )
    np.testing.assert_allclose(jac, fd, atol=1e-8)  # central differences: O(h^2) + eps/h
    batched = jax.vmap(lambda v: aj.theory.da_step(aj.Block(0.8, 0.1, 0.01), v, 0.9))(
        jnp.stack([jnp.asarray(w)] * 3)
    )
    np.testing.assert_allclose(batched[1], np_iterative_2d(w, 0.9, 0.1), rtol=1e-14)
    # d/d(lam) of the case-2/3 boundary 1 + lam/(e r) (lam the ridge of L_DA) is 1/(e r).
    slope = jax.grad(lambda lam: aj.theory.case_boundaries(one(0.05, 0.0, lam))[1])(0.02)
    assert float(slope) == pytest.approx(1 / (np.e * 0.05), rel=1e-14)


def test_float32_and_float64_atlases_agree():
    """The default B = 40 and tol = 3.5e-4 do not depend on the dtype, so neither does the
    atlas, except for orbits on a regime boundary (chaos vs a high-period window, which
    rounding can flip): measured 99.6% agreement on a 96x96 grid; require 97% here."""
    eta = np.geomspace(0.1, 100, 32)[:, None]
    fr = np.linspace(0, 8, 32)[None, :]
    a = aj.theory.classify_da(one(R, R * fr, LAM), eta, dtype=jnp.float32)
    b = aj.theory.classify_da(one(R, R * fr, LAM), eta, dtype=jnp.float64)
    assert np.mean(np.asarray(a.regime) == np.asarray(b.regime)) >= 0.97


def test_array_learning_rates_broadcast_against_w():
    """A learning rate per state: one step each, against the NumPy maps (1-D and block)."""
    w, etas, fs = np.array([0.3, -1.2, 2.0]), np.array([0.1, 1.0, 3.0]), np.array([0.02, 0.1, 0.3])
    got = aj.theory.da_step(one(R, jnp.asarray(fs), LAM), jnp.asarray(w), jnp.asarray(etas))
    want = [np_iterative(w[k], etas[k], fs[k]) for k in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    w2 = np.array([[0.7, -0.4], [1.0, 1.0]])
    got2 = aj.theory.da_step(aj.Block(0.8, 0.05, 0.01), jnp.asarray(w2), jnp.array([0.9, 0.2]))
    want2 = [np_iterative_2d(w2[0], 0.9, 0.05), np_iterative_2d(w2[1], 0.2, 0.05)]
    np.testing.assert_allclose(got2, want2, rtol=1e-14)


def test_block_counts_may_be_batched_and_traced():
    """A batch of blocks differing in |R| classifies as the blocks one by one, also under jit."""
    n_retain = jnp.array([900.0, 300.0])
    kw = dict(n_transient=200, n_record=192, max_period=32, n_flow=64)
    batch = aj.theory.classify_da(aj.Block(0.8, 0.05, 0.01, n_retain=n_retain), 1.0, **kw)
    jitted = jax.jit(
        lambda nr: aj.theory.classify_da(aj.Block(0.8, 0.05, 0.01, n_retain=nr), 1.0, **kw)
    )(n_retain)
    for k in range(2):
        single = aj.theory.classify_da(
            aj.Block(0.8, 0.05, 0.01, n_retain=float(n_retain[k])), 1.0, **kw
        )
        for out in (batch, jitted):
            assert int(out.regime[k]) == int(single.regime)
            np.testing.assert_allclose(out.w_final[k], single.w_final, rtol=1e-12)
    assert not np.allclose(batch.w_final[0], batch.w_final[1])  # |R| matters
