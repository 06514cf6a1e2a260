"""sweep: equals a plain vmap; chunked == unchunked; compiles once; multi-device == single."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj

ROOT = Path(__file__).resolve().parents[1]


def _seed_run(key, alpha):
    """One seed: noisy cross-correlated data, 50 DA steps; returns a pytree."""
    data = aj.cross_correlated_data(
        0.8, alpha, block_size=5, n_retain=90, n_forget=10, noise=0.1, key=key
    )
    traj = aj.run_rule(aj.simultaneous_da(0.5, lam=0.01), jnp.zeros(2), data, steps=50, stride=10)
    return {"w": traj.final, "path": traj.observed, "div": traj.diverged}


def _inputs(n, key):
    # alpha <= 0.06 < 0.08: DA converges for every seed at rho = 0.8 (THEORY.md §3 table),
    # so no chaotic divergent orbit amplifies rounding differences between batchings
    return jax.random.split(key, n), jnp.linspace(0.01, 0.06, n)


def test_sweep_equals_vmap(key) -> None:
    keys, alphas = _inputs(7, key)
    out = aj.sweep(_seed_run, keys, alphas)
    ref = jax.vmap(_seed_run)(keys, alphas)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-14), out, ref)
    assert out["path"].shape == (7, 5, 2)


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 16])
def test_chunked_equals_unchunked(chunk_size, key) -> None:
    keys, alphas = _inputs(7, key)  # 7 is not a multiple of 3: last chunk padded
    out = aj.sweep(_seed_run, keys, alphas, chunk_size=chunk_size)
    ref = aj.sweep(_seed_run, keys, alphas)
    # same per-seed arithmetic; only the batching differs (rounding-level agreement)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-13), out, ref)
    assert out["w"].shape == (7, 2)


def test_shared_arguments_with_in_axes() -> None:
    data = aj.one_coordinate_data(5, 0.5, 100, 10)

    def final(lr, data):
        return aj.run_rule(aj.retrain(lr, lam=0.01), jnp.zeros(1), data, steps=5).final[0]

    lrs = jnp.array([0.1, 0.2, 0.3, 0.4, 0.5])
    out = aj.sweep(final, lrs, data, in_axes=(0, None), chunk_size=2)
    ref = jax.vmap(final, in_axes=(0, None))(lrs, data)
    np.testing.assert_allclose(out, ref, rtol=1e-14)


def test_compiles_once_per_shape(key) -> None:
    traces = []

    def f(x):
        traces.append(1)
        return jnp.sin(x) * 2

    for chunk in (None, 3):
        traces.clear()
        a = aj.sweep(f, jnp.arange(10.0), chunk_size=chunk)
        b = aj.sweep(f, jnp.arange(10.0) + 1, chunk_size=chunk)
        assert len(traces) == 1, (chunk, len(traces))
        aj.sweep(f, jnp.arange(12.0), chunk_size=chunk)  # new shape: one more trace
        assert len(traces) == 2
        np.testing.assert_allclose(a, 2 * np.sin(np.arange(10.0)), rtol=1e-15)
        np.testing.assert_allclose(b, 2 * np.sin(np.arange(10.0) + 1), rtol=1e-15)
    assert aj.make_sweep(f, chunk_size=3) is aj.make_sweep(f, chunk_size=3)


def test_grad_of_internal_constants_inside_sweep_is_per_row() -> None:
    # regression: under shard_map with check_vma=True the gradient with respect to a
    # value created inside fn was summed over devices; per-row it must be x^T 1
    def g(x):
        return jax.grad(lambda w: jnp.sum(x @ w))(jnp.ones(2))

    x = jnp.arange(24.0).reshape(4, 3, 2)
    np.testing.assert_allclose(aj.sweep(g, x, chunk_size=3), np.asarray(x).sum(axis=1))


def test_unhashable_callable_still_sweeps() -> None:
    class Scale:
        __hash__ = None  # unhashable, as a class defining __eq__ would be

        def __call__(self, x):
            return 3.0 * x

    np.testing.assert_allclose(aj.sweep(Scale(), jnp.arange(4.0)), [0.0, 3.0, 6.0, 9.0])


def test_sweep_bad_input() -> None:
    f = lambda a, b: a + b  # noqa: E731
    with pytest.raises(ValueError, match="leading"):
        aj.sweep(f, jnp.ones(3), jnp.ones(4))
    with pytest.raises(ValueError, match="scalar"):
        aj.sweep(f, jnp.ones(3), 1.0)
    with pytest.raises(ValueError, match="chunk_size"):
        aj.sweep(f, jnp.ones(3), jnp.ones(3), chunk_size=0)
    with pytest.raises(ValueError, match="in_axes"):
        aj.sweep(f, jnp.ones(3), jnp.ones(3), in_axes=(0, 1))
    with pytest.raises(ValueError, match="empty"):
        aj.sweep(f, jnp.ones(0), jnp.ones(0))
    with pytest.raises(TypeError, match="compiler_options"):
        aj.sweep(f, jnp.ones(3), jnp.ones(3), compiler_options=[("xla_cpu_ftz", True)])


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="an XLA:CPU compile option")
def test_compiler_options_reach_xla(key) -> None:
    keys, alphas = _inputs(6, key)
    wide = {"xla_cpu_prefer_vector_width": 512}
    out = aj.sweep(_seed_run, keys, alphas, chunk_size=4, compiler_options=wide)
    ref = aj.sweep(_seed_run, keys, alphas, chunk_size=4)
    # other vector widths reorder float sums: rounding-level agreement
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12), out, ref)
    assert aj.make_sweep(_seed_run, compiler_options=wide) is aj.make_sweep(
        _seed_run, compiler_options=dict(wide)
    )  # cached per options
    with pytest.raises(Exception, match="xla_no_such_option"):
        aj.sweep(_seed_run, keys, alphas, compiler_options={"xla_no_such_option": 1})


_MULTI = textwrap.dedent(
    """
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import ascentjax as aj
    sys.path.insert(0, {tests!r})
    from test_engine_sweep import _seed_run, _inputs
    assert len(jax.devices()) == 4, jax.devices()
    keys, alphas = _inputs(10, jax.random.key(0))
    g = aj.make_sweep(_seed_run, chunk_size=2)
    hlo = g.lower(keys, alphas).as_text()
    out = g(keys, alphas)
    out3 = aj.sweep(_seed_run, keys, alphas, devices=jax.devices()[:3])
    def g(x):
        return jax.grad(lambda w: jnp.sum(x @ w))(jnp.ones(2))
    gx = aj.sweep(g, jnp.arange(24.0).reshape(4, 3, 2))
    shared = aj.sweep(lambda a, b: a * b.sum(), jnp.arange(5.0), jnp.ones(3),
                      in_axes=(0, None), chunk_size=2)
    print(json.dumps({{
        "shared": shared.tolist(),
        "grad": gx.tolist(),
        "w": out["w"].tolist(), "div": out["div"].tolist(), "w3": out3["w"].tolist(),
        "partitions": "num_partitions = 4" in hlo,
    }}))
    """
)


def test_multi_device_equals_single_device(key) -> None:
    env = dict(
        os.environ,
        XLA_FLAGS="--xla_force_host_platform_device_count=4",
        JAX_PLATFORMS="cpu",
        PYTHONPATH=str(ROOT),
    )
    code = _MULTI.format(tests=str(ROOT / "tests"))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["partitions"], "the sweep was not partitioned over the 4 devices"
    keys, alphas = _inputs(10, jax.random.key(0))
    ref = aj.sweep(_seed_run, keys, alphas)
    # identical per-seed programs on identical CPU devices: agreement to rounding
    np.testing.assert_allclose(res["w"], ref["w"], rtol=1e-13)
    np.testing.assert_allclose(res["w3"], ref["w"], rtol=1e-13)
    np.testing.assert_array_equal(res["div"], ref["div"])
    np.testing.assert_allclose(res["grad"], np.arange(24.0).reshape(4, 3, 2).sum(axis=1))
    np.testing.assert_allclose(res["shared"], 3.0 * np.arange(5.0))  # replicated argument
