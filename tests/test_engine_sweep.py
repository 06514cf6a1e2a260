"""sweep: equals a plain vmap; chunked == unchunked; compiles once; multi-device == single."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
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
        key, 0.8, alpha, block_size=5, n_retain=90, n_forget=10, noise=0.1
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
    keys, alphas = _inputs(7, key)  # 7 is not a multiple of 3: the last chunk overlaps
    out = aj.sweep(_seed_run, keys, alphas, chunk_size=chunk_size)
    ref = aj.sweep(_seed_run, keys, alphas, chunk_size=None)
    # same per-seed arithmetic; only the batching differs (rounding-level agreement)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-13), out, ref)
    assert out["w"].shape == (7, 2)


def test_shared_arguments_with_in_axes() -> None:
    data = aj.one_coordinate_data(None, 5, 0.5, 100, 10)

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


# ----------------------------------------------------------------------------- fast defaults
def _loop_row(x):
    # one row reads its 3000 float32 values (12,000 bytes) on every step of the loop
    return jax.lax.fori_loop(0, 10, lambda i, c: c + jnp.sum(x) * c, jnp.float32(1.0))


def test_auto_chunk_size_rule(monkeypatch) -> None:
    cpu = jax.devices("cpu")[:1]
    monkeypatch.setattr(aj._sweep, "_l2_bytes", lambda: 1 << 20)
    rows = lambda S: jax.ShapeDtypeStruct((S, 3000), jnp.float32)  # noqa: E731
    # a row keeps 12,000 bytes (plus a few loop scalars) live: 2^20 / 12,0xx = 86-87 rows,
    # 64 as a power of two; 100 rows make two chunks of 50, rounded up to 56 (a multiple
    # of 8 within 64); 1000 rows make 16 chunks of 62.5 -> 64; 60 rows fit in one chunk
    assert aj.auto_chunk_size(_loop_row, rows(100), devices=cpu) == 56
    assert aj.auto_chunk_size(_loop_row, rows(1000), devices=cpu) == 64
    assert aj.auto_chunk_size(_loop_row, rows(60), devices=cpu) is None
    # the data shared (in_axes None) costs nothing per row (a row is its scalar, a few
    # bytes): 10,000 rows fit in one chunk, where 10,000 unshared rows need 157 chunks
    shared = aj.auto_chunk_size(
        lambda s, x: s * _loop_row(x),
        jnp.ones(10_000),
        jnp.ones(3000, jnp.float32),
        in_axes=(0, None),
        devices=cpu,
    )
    assert shared is None
    # no loop: the largest operation counts; an outer product of 1000 float32 is 4 MB > L2
    outer = lambda x: jnp.sum(jnp.outer(x, x))  # noqa: E731
    assert aj.auto_chunk_size(outer, jnp.ones((10, 1000), jnp.float32), devices=cpu) == 1
    # accelerators: 1/16 of the memory per chunk, no power-of-two rounding:
    # 16 * 12,100 * 100 bytes allow 100 rows of 12,0xx bytes; 1000 rows -> 10 chunks of 100
    gpu = types.SimpleNamespace(platform="gpu", memory_stats=lambda: {"bytes_limit": 19_360_000})
    assert aj._sweep._auto_chunk(_loop_row, (rows(1000),), (0,), 1000, gpu) == 100
    assert aj._sweep._auto_chunk(_loop_row, (rows(100),), (0,), 100, gpu) is None


def test_auto_chunking_equals_unchunked(monkeypatch, key) -> None:
    monkeypatch.setattr(aj._sweep, "_l2_bytes", lambda: 4096)  # a tiny cache forces chunks

    def seed_run(k, a):  # a fresh function: not compiled earlier with another budget
        return _seed_run(k, a)

    keys, alphas = _inputs(13, key)
    one = jax.devices("cpu")[:1]  # the CPU rule (cache-sized chunks), on any machine
    chunk = aj.auto_chunk_size(seed_run, keys, alphas, devices=one)
    assert chunk is not None and chunk < 13
    out = aj.sweep(seed_run, keys, alphas, devices=one)
    ref = aj.sweep(seed_run, keys, alphas, chunk_size=None, devices=one)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-13), out, ref)
    with pytest.raises(ValueError, match="'auto'"):
        aj.sweep(seed_run, keys, alphas, chunk_size="fast")


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    lines = [ln for ln in text.splitlines() if ln.startswith("flags")]
    return set(lines[0].split(":", 1)[1].split()) if lines else set()


def _double(x):
    return 2.0 * x


def test_default_vector_width_follows_the_cpu() -> None:
    cpu = jax.devices("cpu")[:1]
    wide = {"xla_cpu_prefer_vector_width": 512}
    expected = wide if "avx512f" in _cpu_flags() else {}
    # the default options are part of the cache key: same compiled function
    assert aj.make_sweep(_double, devices=cpu) is aj.make_sweep(
        _double, devices=cpu, compiler_options=expected
    )
    narrow = aj.make_sweep(
        _double, devices=cpu, compiler_options={"xla_cpu_prefer_vector_width": 256}
    )
    assert (narrow is aj.make_sweep(_double, devices=cpu)) == (expected == {})
    np.testing.assert_allclose(narrow(jnp.arange(3.0)), [0.0, 2.0, 4.0])


def _da_seed(ds, w_orc):
    rule = aj.simultaneous_da(0.1, lam=0.1, loss="logistic")
    observe = lambda w: jnp.linalg.norm(w - w_orc)  # noqa: E731
    traj = aj.run_rule(rule, jnp.zeros(8, jnp.float32), ds, steps=20, stride=10, observe=observe)
    return traj.final, traj.observed


def test_peak_memory_flat_in_S_at_fixed_chunk() -> None:
    one = jax.devices()[:1]

    def temp_bytes(S, chunk):
        f32, n = jnp.float32, 128
        ds = aj.Dataset(
            x=jax.ShapeDtypeStruct((S, n, 8), f32),
            y=jax.ShapeDtypeStruct((S, n), f32),
            forget=jax.ShapeDtypeStruct((S, n), bool),
            weight=jax.ShapeDtypeStruct((S, n), f32),
        )
        swept = aj.make_sweep(_da_seed, chunk_size=chunk, devices=one)
        mem = swept.lower(ds, jax.ShapeDtypeStruct((S, 8), f32)).compile().memory_analysis()
        return mem.temp_size_in_bytes

    # XLA's own accounting of the compiled sweep (deterministic, unlike a process RSS):
    # beyond the inputs and outputs, the temporaries are one chunk's, whatever S
    # (64,000 is no multiple of 64: the last chunk overlaps, nothing is padded)
    base = temp_bytes(4096, 64)
    assert temp_bytes(65536, 64) <= 1.01 * base
    assert temp_bytes(64000, 64) <= 1.01 * base
    # without chunks the temporaries grow with S (16x the seeds here): the check can fail
    assert temp_bytes(65536, None) > 8 * base


def test_sweep_progress_reports_blocks_and_matches_one_call() -> None:
    def f(a, b):
        return {"s": a + b, "p": a * b}

    a = jnp.arange(7.0)
    seen: list[tuple[int, int]] = []
    got = aj.sweep(
        f, a, 2.0, in_axes=(0, None), progress=lambda d, n: seen.append((d, n)), progress_every=3
    )
    assert seen == [(3, 7), (6, 7), (7, 7)]  # the last block is padded to 3 rows and stripped
    np.testing.assert_array_equal(got["s"], np.arange(7.0) + 2.0)
    np.testing.assert_array_equal(got["p"], np.arange(7.0) * 2.0)
    ref = aj.sweep(f, a, 2.0, in_axes=(0, None))
    np.testing.assert_array_equal(got["s"], ref["s"])
    # default block: about 20 progress steps
    seen.clear()
    aj.sweep(f, jnp.arange(40.0), jnp.ones(40), progress=lambda d, n: seen.append(d))
    assert seen == list(range(2, 41, 2))
    with pytest.raises(ValueError, match="progress_every"):
        aj.sweep(f, a, a, progress=lambda d, n: None, progress_every=0)
    with pytest.raises(ValueError, match="progress_every"):
        aj.sweep(f, a, a, progress_every=2)
    with pytest.raises(TypeError, match="progress"):
        aj.sweep(f, a, a, progress=3)
