"""jit / vmap / grad agree with eager evaluation for the public bounds and summaries
that the per-module tests only call eagerly."""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj
from sims._common import open_output

# jit may reorder floating-point operations: a few ulp of float64.
RTOL = 1e-12


def test_lemma4_and_lemma5_bounds_jit_vmap_grad():
    alphas = jnp.linspace(0.01, 0.3, 7)
    eager = jnp.stack(
        [
            aj.theory.lemma4_bound(
                aj.OneCoordinate(a, 1.0, block_size=1.0, n_retain=900.0, n_forget=100.0)
            )
            for a in alphas
        ]
    )
    np.testing.assert_allclose(
        jax.vmap(
            lambda a: aj.theory.lemma4_bound(
                aj.OneCoordinate(a, 1.0, block_size=1.0, n_retain=900.0, n_forget=100.0)
            )
        )(alphas),
        eager,
        rtol=RTOL,
    )
    np.testing.assert_allclose(
        jax.jit(aj.theory.lemma4_bound)(
            aj.OneCoordinate(alphas, 1.0, block_size=1.0, n_retain=900.0, n_forget=100.0)
        ),
        eager,
        rtol=RTOL,
    )
    # d/dalpha |ln((1+a)|R|/|D|)| = -1/(1+a) where (1+a)|R| < |D|, i.e. a < 1/9
    g = jax.grad(
        lambda a: aj.theory.lemma4_bound(
            aj.OneCoordinate(a, 1.0, block_size=1.0, n_retain=900.0, n_forget=100.0)
        )
    )(0.05)
    assert float(g) == pytest.approx(-1 / 1.05, rel=1e-12)

    lams = jnp.array([0.005, 0.01, 0.1])
    eager5 = jnp.stack(
        [
            aj.theory.lemma5_bound(aj.OneCoordinate(0.0, lam, block_size=50.0, n_retain=900.0))
            for lam in lams
        ]
    )
    np.testing.assert_allclose(
        jax.vmap(
            lambda lam: aj.theory.lemma5_bound(
                aj.OneCoordinate(0.0, lam, block_size=50.0, n_retain=900.0)
            )
        )(lams),
        eager5,
        rtol=RTOL,
    )
    # d/dlam W0(c/lam) = -W/(lam (1+W)), from W' = W/(z(1+W))
    w = float(aj.theory.lemma5_bound(aj.OneCoordinate(0.0, 0.01, block_size=50.0, n_retain=900.0)))
    g5 = jax.grad(
        lambda lam: aj.theory.lemma5_bound(
            aj.OneCoordinate(0.0, lam, block_size=50.0, n_retain=900.0)
        )
    )(0.01)
    assert float(g5) == pytest.approx(-w / (0.01 * (1 + w)), rel=1e-10)


def test_lemma9_and_existence_threshold_jit_vmap():
    rhos = jnp.array([0.3, 0.5, 0.8])
    eager = jnp.stack([aj.theory.lemma9_threshold(aj.Block(r, 0.0, 0.01)) for r in rhos])
    batch = aj.Block(rhos, jnp.zeros_like(rhos), jnp.full_like(rhos, 0.01))
    batch = jax.tree.map(lambda v: jnp.broadcast_to(v, rhos.shape), batch)
    np.testing.assert_allclose(jax.vmap(aj.theory.lemma9_threshold)(batch), eager, rtol=RTOL)
    np.testing.assert_allclose(jax.jit(aj.theory.lemma9_threshold)(batch), eager, rtol=RTOL)
    eager_e = jnp.stack([aj.theory.da_existence_threshold(aj.Block(r, 0.0, 0.01)) for r in rhos])
    vm = jax.vmap(lambda r: aj.theory.da_existence_threshold(aj.Block(r, 0.0, 0.01)))(rhos)
    np.testing.assert_allclose(vm, eager_e, rtol=1e-9)  # bisection to the same bracket


def test_tail_frequency_and_klom_percentile_jit_vmap_and_bad_input():
    gaps = jax.random.normal(jax.random.key(1), (3, 50)) * 0.1
    ts = jnp.array([0.05, 0.1, 0.2])
    eager = jnp.stack([aj.theory.tail_frequency(g, ts) for g in gaps])
    np.testing.assert_allclose(jax.vmap(lambda g: aj.theory.tail_frequency(g, ts))(gaps), eager)
    np.testing.assert_allclose(jax.jit(aj.theory.tail_frequency)(gaps[0], ts), eager[0])
    with pytest.raises(ValueError, match="gaps"):
        aj.theory.tail_frequency(jnp.zeros(0), 0.1)
    with pytest.raises(ValueError, match="t "):
        aj.theory.tail_frequency(gaps[0], -0.1)

    scores = jnp.abs(gaps)
    eager_p = jnp.stack([aj.nets.klom_percentile(s) for s in scores])
    np.testing.assert_allclose(jax.vmap(aj.nets.klom_percentile)(scores), eager_p)
    np.testing.assert_allclose(
        aj.nets.klom_percentile(scores), eager_p
    )  # batched over leading axes
    np.testing.assert_allclose(eager_p, np.percentile(np.asarray(scores), 95, axis=-1), rtol=1e-12)
    with pytest.raises(ValueError, match="scores"):
        aj.nets.klom_percentile(jnp.zeros((2, 0)))


def test_open_output_resolves_dotdot_before_refusing(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "summary.json").write_text("{}")
    sneaky = tmp_path / "taken" / "missing" / ".."  # names `taken`, which is not empty
    parser = argparse.ArgumentParser()
    with pytest.raises(SystemExit) as exc:
        open_output(parser, sneaky, "study", overwrite=False)
    assert exc.value.code == 2
    assert not (taken / "missing").exists()
    out = open_output(parser, sneaky, "study", overwrite=True)
    assert out.final == taken.resolve() and out.dir.parent == tmp_path.resolve()
    out.abort()  # nothing written: the earlier result and its directory are untouched
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
    assert (taken / "summary.json").read_text() == "{}"
