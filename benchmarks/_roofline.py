"""Machine peaks measured in the same run as the workloads, and roofline bounds.

* **compute peak**: best GFLOP/s of a large float32 matmul (``jnp.dot`` and
  ``numpy.matmul``, ``2 N^3`` flops each);
* **bandwidth**: best GB/s of a streaming copy of a 256 MiB float32 array
  (``np.copyto``: one read and one write, ``2 * nbytes`` moved);
* **sigmoid rate**: best float32 ``jax.nn.sigmoid`` evaluations per second on a
  cache-resident array (512 x 128, 2,000 times in one compiled loop, all cores,
  with JAX's default and with 512-bit vectors), the work of a logistic-loss
  gradient that a flop count leaves out.

The roofline bound of a workload with ``F`` flops and ``B`` bytes of compulsory
memory traffic is ``max(F / peak_flops, B / bandwidth)`` seconds; a run that takes
``t`` seconds achieves the fraction ``bound / t`` of it. Workloads whose
elementwise work is transcendental (``N`` sigmoids) also get the bound
``max(F / peak_flops + N / sigmoid_rate, B / bandwidth)``: the matmul units and
the sigmoid share the same vector pipes, so the two times add. Peaks are cached per
process so that every workload of one ``python -m benchmarks`` run is compared
against the same measurement.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from ._harness import best_of


def loadavg() -> float | None:
    """1-minute load average (``None`` where unavailable): recorded with every timing."""
    try:
        return float(os.getloadavg()[0])
    except OSError:  # pragma: no cover
        return None


@functools.lru_cache(maxsize=4)
def machine_peaks(quick: bool = False) -> dict:
    """Measured float32 matmul GFLOP/s and streaming-copy GB/s (cached per process)."""
    import jax
    import jax.numpy as jnp

    n = 512 if quick else 4096
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    flops = 2.0 * n**3
    aj, bj = jnp.asarray(a), jnp.asarray(b)
    dot = jax.jit(jnp.dot)
    jax.block_until_ready(dot(aj, bj))
    reps = 1 if quick else 3
    t_jax, _ = best_of(lambda: jax.block_until_ready(dot(aj, bj)), reps)
    t_np, _ = best_of(lambda: np.matmul(a, b), reps)

    sig_rate = _sigmoid_rate(quick)

    m = (1 << 20) if quick else (64 << 20)  # float32 elements: 4 MiB / 256 MiB
    src = np.ones(m, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    t_copy, _ = best_of(lambda: np.copyto(dst, src), 2 if quick else 5)
    return {
        "matmul_n": n,
        "matmul_gflops_jax": flops / t_jax / 1e9,
        "matmul_gflops_numpy": flops / t_np / 1e9,
        "peak_gflops": max(flops / t_jax, flops / t_np) / 1e9,
        "copy_mib": src.nbytes / 2**20,
        "copy_gbps": 2 * src.nbytes / t_copy / 1e9,
        "sigmoid_gevals": sig_rate / 1e9,
        "loadavg_1min": loadavg(),
    }


def _sigmoid_rate(quick: bool) -> float:
    """Best sigmoid evaluations/s: default vector width and 512-bit (where accepted)."""
    import jax
    import jax.numpy as jnp

    shape, iters = ((64, 128), 50) if quick else ((512, 128), 2000)
    x = jnp.asarray(np.random.default_rng(1).standard_normal(shape, dtype=np.float32))

    def loop(x):  # each pass depends on the last: nothing can be hoisted or skipped
        return jax.lax.fori_loop(0, iters, lambda i, v: jax.nn.sigmoid(-v) - 0.5, x)

    best = 0.0
    for options in ({}, {"xla_cpu_prefer_vector_width": 512}):
        try:
            compiled = jax.jit(loop).lower(x).compile(compiler_options=options)
        except Exception:  # noqa: BLE001 - an option this backend does not know
            continue
        jax.block_until_ready(compiled(x))
        t, _ = best_of(lambda f=compiled: jax.block_until_ready(f(x)), 1 if quick else 3)
        best = max(best, x.size * iters / t)
    return best


def roofline(
    flops: float, bytes_moved: float, seconds: float, peaks: dict, sigmoids: float = 0.0
) -> dict:
    """Achieved rates and the fraction of the roofline bound ``max(F/P, B/BW)``.

    With ``sigmoids > 0`` the record also holds ``bound_with_sigmoid_s`` and
    ``fraction_of_bound_with_sigmoid``, the bound that adds ``sigmoids`` evaluations
    at the measured sigmoid rate to the flop time.
    """
    t_compute = flops / (peaks["peak_gflops"] * 1e9)
    t_memory = bytes_moved / (peaks["copy_gbps"] * 1e9)
    bound = max(t_compute, t_memory)
    extra = {}
    if sigmoids:
        t_sig = sigmoids / (peaks["sigmoid_gevals"] * 1e9)
        bound_sig = max(t_compute + t_sig, t_memory)
        extra = {
            "bound_with_sigmoid_s": bound_sig,
            "fraction_of_bound_with_sigmoid": bound_sig / seconds,
        }
    return extra | {
        "achieved_gflops": flops / seconds / 1e9,
        "achieved_gbps": bytes_moved / seconds / 1e9,
        "bound_s": bound,
        "bound_kind": "compute" if t_compute >= t_memory else "memory",
        "fraction_of_bound": bound / seconds,
    }
