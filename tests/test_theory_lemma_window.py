"""aj.theory.lemma_window: inside it the exact stationary points are ordered (DA detrimental)."""

import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj

# (rho, lam) where the lemma window is non-empty, and one where it is empty
NONEMPTY = [(0.95, 0.01), (0.9, 0.1)]


@pytest.mark.parametrize("rho,lam", NONEMPTY)
def test_exact_points_are_ordered_inside_the_lemma_window(rho, lam):
    block = aj.Block(rho, 0.0, lam)
    lo, hi = (float(v) for v in aj.theory.lemma_window(block))
    assert lo < hi
    # the exact solver (stationarity systems solved numerically, not the lemmas' bounds)
    # must find the ordering at every alpha strictly inside the window
    alphas = jnp.linspace(lo, hi, 9)[1:-1]
    scan = aj.theory.window_scan(block, alphas, grid_size=256)
    assert np.all(np.asarray(scan.da_stationary))
    assert np.all(np.asarray(scan.ordered))


def test_empty_where_lemma9_exceeds_the_existence_threshold():
    block = aj.Block(0.8, 0.0, 0.01)
    lo, hi = aj.theory.lemma_window(block)
    # the doctest values of lemma9_threshold (0.0985) and da_existence_threshold (0.0798)
    assert float(lo) == pytest.approx(0.0985, abs=1e-4)
    assert float(hi) == pytest.approx(0.0798, abs=1e-4)
    assert float(lo) > float(hi)


def test_logistic_loss_has_no_existence_limit():
    block = aj.Block(0.8, 0.0, 0.01, loss="logistic")
    _, hi = aj.theory.lemma_window(block)
    assert float(hi) == float(jnp.minimum(*aj.theory.lemma10_thresholds(block)))


def test_a_batch_of_blocks_matches_one_at_a_time():
    rhos = jnp.array([0.8, 0.9, 0.95])
    lo, hi = aj.theory.lemma_window(aj.Block(rhos, 0.0, 0.01))
    for k, rho in enumerate(rhos.tolist()):
        lo1, hi1 = aj.theory.lemma_window(aj.Block(rho, 0.0, 0.01))
        # the bisection and Lambert-W iterations run the same float64 steps batched or
        # not; 1e-12 allows for a different vectorised reduction order
        np.testing.assert_allclose([lo[k], hi[k]], [lo1, hi1], rtol=1e-12)
