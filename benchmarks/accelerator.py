"""Workload ``accelerator``: the DA sweep on a GPU or TPU, and the memory one seed needs.

Run with ``python -m benchmarks --platform gpu`` (or ``tpu``). Without such a
device visible to JAX the workload is skipped and says so (the record has a
``skipped`` reason), so it is safe in the default ``python -m benchmarks`` run.

On the accelerator it runs the reference DA sweep of :mod:`benchmarks.da_compare`
(per-seed data, ``n = 128``, ``d = 8``, float32, logistic loss) as a user would:
``ascentjax.sweep(fn, dataset, w_oracle)`` with no other argument, over every
device of the platform:

* **check**: at ``S = 256`` the result is compared with the batched NumPy
  reference (relative ``1e-4``, as on CPU; matrix products run in full float32,
  ``jax.default_matmul_precision("highest")``, i.e. no TF32);
* **time**: compile and warm time (best of ``repeats``) for several ``S``, and
  seed-steps per second;
* **memory**: XLA's accounting of the compiled sweep (arguments + outputs +
  temporaries, ``compiled.memory_analysis()``) at each ``S``; the slope between
  the two largest ``S`` is the **memory per seed**, and ``bytes_limit`` divided
  by it is about the largest ``S`` one device holds at once (more seeds than that
  need a fixed ``chunk_size`` so temporaries stay bounded, or more devices). The
  device's own ``peak_bytes_in_use`` is recorded next to it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._harness import best_of, machine_info, register

FULL = dict(S_list=[4096, 65536, 1048576], n=128, d=8, T=500, stride=10, lr=0.1, lam=0.1)
QUICK = dict(S_list=[1024, 4096], n=128, d=8, T=100, stride=10, lr=0.1, lam=0.1)
S_CHECK = 256
RTOL = 1e-4  # as da_compare: float32, T steps of a contracting map


def _device_data(S: int, n: int, d: int, device: Any) -> tuple:
    """Per-seed data generated on the device (the host would take longer than the sweep)."""
    import jax

    with jax.default_device(device):
        return _generate(S, n, d)


def _generate_impl(S: int, n: int, d: int) -> tuple:
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    kx, kw, ke = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (S, n, d), jnp.float32)
    w_true = jax.random.normal(kw, (S, d), jnp.float32)
    logits = jnp.einsum("snd,sd->sn", x, w_true) + 0.5 * jax.random.normal(ke, (S, n))
    y = jnp.where(logits >= 0, 1.0, -1.0).astype(jnp.float32)
    forget = jnp.zeros((S, n), bool).at[:, : max(1, n // 8)].set(True)
    ds = aj.Dataset(x=x, y=y, forget=forget, weight=jnp.ones((S, n), jnp.float32))
    return ds, jnp.zeros((S, d), jnp.float32)


def _generate(S: int, n: int, d: int) -> tuple:
    import jax

    return jax.jit(_generate_impl, static_argnums=(0, 1, 2))(S, n, d)


def _skipped(platform: str, reason: str) -> dict:
    return {
        "workload": "accelerator",
        "platform": platform,
        "skipped": reason,
        "machine": machine_info(),
    }


@register("accelerator")
def run(quick: bool = False, repeats: int = 3, platform: str | None = None, **overrides) -> dict:
    """The DA sweep on every GPU/TPU device: check, time, memory per seed."""
    import jax
    import jax.numpy as jnp

    import ascentjax as aj

    from .da_compare import _engine, numpy_da, oracle, prepare
    from .da_sweep import make_data

    allow_cpu = overrides.pop("allow_cpu", False)  # tests exercise the section on CPU
    cfg = dict(QUICK if quick else FULL) | overrides
    backend = jax.default_backend()
    platform = platform or (backend if backend != "cpu" else "gpu")
    try:
        devs = jax.devices(platform)
    except RuntimeError:
        devs = []
    if not devs or (platform == "cpu" and not allow_cpu):
        return _skipped(
            platform,
            f"no {platform.upper()} visible to JAX (backend: {backend}); on a machine with one, "
            f"install jax with its plugin (e.g. jax[cuda13]) and run "
            f"`python -m benchmarks --platform {platform if platform != 'cpu' else 'gpu'}`",
        )
    n, d, T, stride, lr, lam = (cfg[k] for k in ("n", "d", "T", "stride", "lr", "lam"))
    engine = _engine(d, T, stride, lam)

    def fn(ds: aj.Dataset, w_orc: jax.Array):
        return engine(ds, w_orc, jnp.float32(lr))

    rows = []
    with jax.default_matmul_precision("highest"):
        data = make_data(S_CHECK, n, d)
        z, c = prepare(data)
        w_orc = oracle(z, c, lam)
        ref = numpy_da(z, c, w_orc, T, stride, lr, lam)
        ds = jax.device_put(aj.Dataset(**{k: jnp.asarray(v) for k, v in data.items()}), devs[0])
        out = aj.sweep(fn, ds, jax.device_put(jnp.asarray(w_orc, jnp.float32), devs[0]))
        err = max(
            float(np.max(np.abs(np.asarray(o, np.float64) - r)) / max(1.0, np.max(np.abs(r))))
            for o, r in zip(out, ref)
        )
        if not err <= RTOL:
            raise AssertionError(f"{platform} sweep disagrees with NumPy: {err:.2e}")
        swept = aj.make_sweep(fn, devices=devs)
        for S in cfg["S_list"]:
            args = _device_data(S, n, d, devs[0])
            t0 = time.perf_counter()
            compiled = swept.lower(*args).compile()
            t_compile = time.perf_counter() - t0
            mem = compiled.memory_analysis()
            total = None
            if mem is not None:
                total = int(
                    mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes
                )
            jax.block_until_ready(compiled(*args))
            t_warm, _ = best_of(lambda f=compiled, a=args: jax.block_until_ready(f(*a)), repeats)
            stats = devs[0].memory_stats() or {}
            rows.append(
                {
                    "S": S,
                    "compile_s": t_compile,
                    "warm_s": t_warm,
                    "seed_steps_per_s": S * T / t_warm,
                    "xla_bytes": total,
                    "temp_bytes": None if mem is None else int(mem.temp_size_in_bytes),
                    "peak_bytes_in_use": stats.get("peak_bytes_in_use"),
                    "chunk_size": aj.auto_chunk_size(fn, *args, devices=devs),
                }
            )
            del args, compiled
    per_seed = None
    if len(rows) >= 2 and rows[-1]["xla_bytes"] and rows[-2]["xla_bytes"]:
        per_seed = (rows[-1]["xla_bytes"] - rows[-2]["xla_bytes"]) / (rows[-1]["S"] - rows[-2]["S"])
    limit = (devs[0].memory_stats() or {}).get("bytes_limit")
    return {
        "workload": "accelerator",
        "platform": platform,
        "quick": quick,
        "config": cfg | {"dtype": "float32", "matmul_precision": "highest", "repeats": repeats},
        "devices": [str(x) for x in devs],
        "device_kind": devs[0].device_kind,
        "rel_err_vs_numpy": err,
        "rtol": RTOL,
        "rows": rows,
        "bytes_per_seed": per_seed,
        "bytes_limit": limit,
        "max_seeds_per_device": None if not (per_seed and limit) else int(limit / per_seed),
        "machine": machine_info(),
    }


def summary_lines(record: dict) -> list[str]:
    """A readable table of the record (or the reason it was skipped)."""
    if "skipped" in record:
        return [f"accelerator ({record['platform']}): skipped: {record['skipped']}"]
    cfg = record["config"]
    lines = [
        f"accelerator  {record['device_kind']} x{len(record['devices'])}, n={cfg['n']} "
        f"d={cfg['d']} T={cfg['T']} float32, sweep(fn, data) with defaults; "
        f"vs NumPy at S={S_CHECK}: {record['rel_err_vs_numpy']:.1e} (tolerance {record['rtol']:g})",
        f"{'S':>8} {'chunk':>6} {'compile s':>9} {'warm s':>8} {'seed-steps/s':>13} "
        f"{'XLA MiB':>9} {'peak MiB':>9}",
    ]
    for r in record["rows"]:
        xla = "-" if r["xla_bytes"] is None else f"{r['xla_bytes'] / 2**20:.1f}"
        peak = "-" if r["peak_bytes_in_use"] is None else f"{r['peak_bytes_in_use'] / 2**20:.1f}"
        lines.append(
            f"{r['S']:>8} {r['chunk_size']!s:>6} {r['compile_s']:>9.2f} {r['warm_s']:>8.4f} "
            f"{r['seed_steps_per_s']:>13.3g} {xla:>9} {peak:>9}"
        )
    if record["bytes_per_seed"]:
        fits = "device memory limit not reported"
        if record["bytes_limit"]:
            fits = (
                f"device limit {record['bytes_limit'] / 2**30:.1f} GiB: about "
                f"{record['max_seeds_per_device']:,} seeds per device at once"
            )
        lines.append(f"memory per seed {record['bytes_per_seed']:.0f} B (XLA accounting); {fits}")
    return lines
