"""The trajectory engine: strided recording, divergence detection, tracing."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj


def _np_da_orbit(w0, r, f, lam, eta, steps, bound):
    """Plain NumPy iteration of 1-D simultaneous DA; returns (orbit, first bad step)."""
    w, orbit, bad = w0, [], -1
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            new = w - eta * (-(r - f) * np.exp(-w) + lam * w)
            if bad < 0 and (not np.isfinite(new) or abs(new) > bound):
                bad = t
            if bad < 0:
                w = new
            orbit.append(w)
    return np.array(orbit), bad


def test_strided_observations_match_numpy_loop() -> None:
    data = aj.one_coordinate_data(None, 5, 0.05, 100, 10)  # r = 0.05, f = 0.025
    traj = aj.run_rule(
        aj.simultaneous_da(0.5, lam=0.01), jnp.array([0.2]), data, steps=60, stride=6
    )
    orbit, bad = _np_da_orbit(0.2, 0.05, 0.025, 0.01, 0.5, 60, 1e6)
    assert bad == -1
    assert traj.observed.shape == (10, 1)
    np.testing.assert_allclose(traj.observed[:, 0], orbit[5::6], rtol=1e-14)
    np.testing.assert_allclose(traj.final[0], orbit[-1], rtol=1e-14)


def test_custom_observe_pytree() -> None:
    data = aj.one_coordinate_data(None, 5, 0.05, 100, 10)
    traj = aj.run_rule(
        aj.retrain(1.0, lam=0.01),
        jnp.zeros(1),
        data,
        steps=20,
        stride=5,
        observe=lambda w: {"w": w[0], "loss": aj.retain_objective(w, data, 0.01)},
    )
    assert traj.observed["w"].shape == traj.observed["loss"].shape == (4,)
    assert np.all(np.diff(np.asarray(traj.observed["loss"])) <= 0)  # GD decreases L_R


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_divergence_flagged_before_overflow(dtype) -> None:
    # case 3 of the one-coordinate theory: alpha = 1 >> |F|/|R|, no DA stationary point
    data = aj.one_coordinate_data(None, 5, 1.0, 100, 10, dtype=dtype)
    traj = aj.run_rule(
        aj.simultaneous_da(0.5, lam=0.01), jnp.zeros(1, dtype), data, steps=200, stride=1
    )
    orbit, bad = _np_da_orbit(0.0, 0.05, 0.5, 0.01, 0.5, 200, 1e6)
    assert bool(traj.diverged)
    assert int(traj.diverged_at) == bad
    # the accepted iterates follow the NumPy loop (float32: 1e-6 covers the rounding of a few
    # hundred steps of a contracting-then-escaping map), then stay frozen at the last one
    np.testing.assert_allclose(traj.observed[:bad, 0], orbit[:bad], rtol=1e-6)
    np.testing.assert_allclose(traj.observed[bad:, 0], orbit[bad - 1], rtol=1e-6)
    np.testing.assert_allclose(traj.final[0], orbit[bad - 1], rtol=1e-6)
    assert traj.final.dtype == dtype


def test_nan_step_is_rejected() -> None:
    def nan_rule():
        def step(w, k, data):
            return jnp.where(k >= 3, jnp.nan, w + 1.0), k + 1

        return aj.UnlearningRule(lambda w: jnp.array(0), step)

    data = aj.one_coordinate_data(None, 2, 0.5, 10, 5)
    traj = aj.run_rule(nan_rule(), jnp.zeros(2), data, steps=8)
    assert bool(traj.diverged) and int(traj.diverged_at) == 3
    np.testing.assert_array_equal(traj.final, [3.0, 3.0])
    assert int(traj.state) == 3  # state frozen too
    np.testing.assert_array_equal(traj.observed, [[1.0, 1.0], [2.0, 2.0]] + [[3.0, 3.0]] * 6)


def test_vmap_mixes_diverging_and_converging_rows() -> None:
    def run(alpha):
        data = aj.one_coordinate_data(None, 5, alpha, 100, 10)
        return aj.run_rule(
            aj.simultaneous_da(0.5, lam=0.01), jnp.zeros(1), data, steps=300, stride=300
        )

    alphas = [0.05, 1.0, 0.1]
    traj = jax.jit(jax.vmap(run))(jnp.array(alphas))
    np.testing.assert_array_equal(traj.diverged, [False, True, False])
    assert int(traj.diverged_at[0]) == -1
    for i, alpha in enumerate(alphas):  # r = 5/100, f = 5 alpha/10
        orbit, bad = _np_da_orbit(0.0, 0.05, 0.5 * alpha, 0.01, 0.5, 300, 1e6)
        assert int(traj.diverged_at[i]) == bad
        want = orbit[-1] if bad < 0 else orbit[bad - 1]  # the last accepted iterate
        # alpha = 0.1 has r = f and fixed point 0: r - f rounds to a few ulp, hence the atol
        np.testing.assert_allclose(traj.final[i, 0], want, rtol=1e-12, atol=1e-14)


def test_run_rule_bad_input() -> None:
    data = aj.one_coordinate_data(None, 2, 0.5, 10, 5)
    rule = aj.retrain(0.1)
    with pytest.raises(ValueError, match="steps"):
        aj.run_rule(rule, jnp.zeros(1), data, steps=0)
    with pytest.raises(ValueError, match="stride"):
        aj.run_rule(rule, jnp.zeros(1), data, steps=10, stride=3)
    with pytest.raises(ValueError, match="steps"):
        aj.run_rule(rule, jnp.zeros(1), data, steps=10.0)
    with pytest.raises(ValueError, match="stride"):
        aj.run_rule(rule, jnp.zeros(1), data, steps=10, stride=True)
    # NumPy integers are valid static counts
    traj = aj.run_rule(rule, jnp.zeros(1), data, steps=np.int64(4), stride=np.int32(2))
    assert traj.observed.shape == (2, 1)
    with pytest.raises(ValueError, match="bound"):
        aj.run_rule(rule, jnp.zeros(1), data, steps=10, bound=-1.0)
    with pytest.raises(TypeError, match="rule"):
        aj.run_rule(lambda w: w, jnp.zeros(1), data, steps=10)
