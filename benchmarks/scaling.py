"""Workloads ``scaling`` and ``multidevice``: how the DA sweep scales, and sharding.

``scaling`` times the DA sweep of :mod:`benchmarks.da_compare` (per-seed data,
``n = 128``, ``d = 8``, float32) as one ``vmap`` and seed-blocked
(``chunk_size = 256``), against

* the number of seeds ``S`` (1 ... 65,536) at ``T = 100``;
* the number of steps ``T`` at ``S = 4096``;
* the chunk size at ``S = 16,384``, ``T = 100`` (where chunking starts to cost).

Peak memory is XLA's own accounting of the compiled executable
(``compiled.memory_analysis()``: arguments + outputs + temporaries), which is
deterministic, unlike the process RSS on a shared machine. Compile time and warm
time are reported apart. :func:`plot` draws time and memory against ``S``.

``multidevice`` re-runs the sweep sharded over 1, 2 and 4 devices with
:func:`ascentjax.make_sweep` (``devices=``). On a CPU-only machine the devices are
fake (``--xla_force_host_platform_device_count=4`` in a child process, since the
flag must be set before JAX starts); each runs on its own thread, so up to one
device per core gives a real speed-up (1.9x with 2 devices on the idle 2-core
machine) and more devices than cores only add sharding overhead. A GPU, when
present, is recorded with its name; none was available for the committed results.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import ascentjax as aj

from ._harness import (
    best_of,
    config_text,
    machine_info,
    register,
    run_in_cpu_devices,
    wrap_lines,
)
from ._roofline import loadavg
from .da_compare import _one_seed, oracle, prepare
from .da_sweep import make_data

FULL = dict(
    n=128,
    d=8,
    S_list=[1, 16, 256, 4096, 65536],
    T_S=100,
    T_list=[10, 50, 100, 500],
    S_T=4096,
    chunks=[8, 32, 128, 256, 1024, 4096, None],
    S_chunk=16384,
    T_chunk=100,
)
QUICK = dict(
    n=16,
    d=4,
    S_list=[1, 8, 64],
    T_S=10,
    T_list=[10, 20],
    S_T=32,
    chunks=[8, None],
    S_chunk=32,
    T_chunk=10,
)
IN_AXES = (0, 0, 0, 0, None, None)


def _args(S: int, n: int, d: int) -> tuple:
    z, c = prepare(make_data(S, n, d))
    w_orc = oracle(z, c, 0.1, iters=5).astype(np.float32)  # only observed, not checked
    return (
        jnp.asarray(z),
        jnp.asarray(c),
        jnp.asarray(w_orc),
        jnp.zeros((S, d), jnp.float32),
        jnp.float32(0.1),
        jnp.float32(0.1),
    )


def _measure(S: int, T: int, n: int, d: int, chunk: int | None, repeats: int, devices=None):
    args = _args(S, n, d)
    swept = aj.make_sweep(_one_seed(T, 10), chunk_size=chunk, in_axes=IN_AXES, devices=devices)
    t0 = time.perf_counter()
    compiled = swept.lower(*args).compile()
    t_compile = time.perf_counter() - t0
    mem = compiled.memory_analysis()
    peak = None
    if mem is not None:
        peak = int(mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes)
    jax.block_until_ready(compiled(*args))
    reps = repeats if S * T <= 4096 * 500 else 1
    t_warm, _ = best_of(lambda: jax.block_until_ready(compiled(*args)), reps)
    return {
        "S": S,
        "T": T,
        "chunk_size": chunk,
        "compile_s": t_compile,
        "warm_s": t_warm,
        "seed_steps_per_s": S * T / t_warm,
        "peak_bytes": peak,
        "temp_bytes": None if mem is None else int(mem.temp_size_in_bytes),
        "loadavg_1min": loadavg(),
    }


@register("scaling")
def run(quick: bool = False, repeats: int = 3, **overrides: Any) -> dict:
    """Time and memory of the DA sweep against S, T and the chunk size."""
    cfg = (QUICK if quick else FULL) | overrides
    n, d = cfg["n"], cfg["d"]
    vs_S = [
        _measure(S, cfg["T_S"], n, d, chunk, repeats)
        for S in cfg["S_list"]
        for chunk in (None, 256)
        if chunk is None or chunk < S
    ]
    vs_T = [
        _measure(cfg["S_T"], T, n, d, chunk, repeats)
        for T in cfg["T_list"]
        for chunk in (None, 256)
        if chunk is None or chunk < cfg["S_T"]
    ]
    vs_chunk = [
        _measure(cfg["S_chunk"], cfg["T_chunk"], n, d, chunk, repeats) for chunk in cfg["chunks"]
    ]
    best = min(vs_chunk, key=lambda r: r["warm_s"])
    return {
        "workload": "scaling",
        "quick": quick,
        "config": {"n": n, "d": d, "dtype": "float32", "stride": 10},
        "vs_S": vs_S,
        "vs_T": vs_T,
        "vs_chunk": vs_chunk,
        "best_chunk": best["chunk_size"],
        "machine": machine_info(),
    }


def plot(record: dict, path) -> None:
    """Time and XLA peak memory against S (log-log), one line per chunking."""
    if record.get("workload") != "scaling":
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sims import _figures

    _figures.apply_style()  # the project's one figure style
    fig, axes = _figures.subplots(1, 2, panel=(4.8, 3.4))
    ax_t, ax_m = axes[0]
    for chunk, style in ((None, "o-"), (256, "s--")):
        rows = [r for r in record["vs_S"] if r["chunk_size"] == chunk]
        label = "one vmap" if chunk is None else f"chunk_size={chunk}"
        S = [r["S"] for r in rows]
        ax_t.loglog(S, [r["warm_s"] for r in rows], style, label=label)
        ax_m.loglog(S, [r["peak_bytes"] / 2**20 for r in rows], style, label=label)
    T = record["vs_S"][0]["T"]
    ax_t.set(xlabel="seeds S", ylabel="warm time (s)", title=f"DA sweep, T = {T}")
    ax_m.set(xlabel="seeds S", ylabel="XLA peak memory (MiB)", title="memory")
    for ax in (ax_t, ax_m):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    load = record["machine"].get("loadavg_1min")
    fig.suptitle(f"{record['machine']['processor']}, load {load:.1f}" if load else "")
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------------------- multidevice
MD_FULL = dict(S=4096, n=128, d=8, T=500, chunk=256, devices=[1, 2, 4])
MD_QUICK = dict(S=64, n=16, d=4, T=10, chunk=8, devices=[1, 2])


def _child(cfg: dict, repeats: int) -> list[dict]:
    """Runs in the child process with the fake-device flag set."""
    devs = jax.devices()
    rows = []
    ref = None
    for k in cfg["devices"]:
        if k > len(devs):
            continue
        row = _measure(cfg["S"], cfg["T"], cfg["n"], cfg["d"], cfg["chunk"], repeats, devs[:k])
        args = _args(cfg["S"], cfg["n"], cfg["d"])
        swept = aj.make_sweep(
            _one_seed(cfg["T"], 10), chunk_size=cfg["chunk"], in_axes=IN_AXES, devices=devs[:k]
        )
        out = np.asarray(swept(*args)[0])
        ref = out if ref is None else ref
        row["devices"] = k
        row["device_kind"] = devs[0].device_kind
        row["max_abs_diff_vs_1_device"] = float(np.max(np.abs(out - ref)))
        rows.append(row)
    return rows


@register("multidevice")
def run_multidevice(quick: bool = False, repeats: int = 3, **overrides: Any) -> dict:
    """The DA sweep sharded over 1, 2, 4 (fake CPU) devices, in a child process."""
    cfg = (MD_QUICK if quick else MD_FULL) | overrides
    rows = run_in_cpu_devices("benchmarks.scaling", "_child", max(cfg["devices"]), cfg, repeats)
    gpus = [str(d) for d in jax.devices() if d.platform == "gpu"]
    return {
        "workload": "multidevice",
        "quick": quick,
        "config": cfg | {"dtype": "float32"},
        "cpu_fake_devices": rows,
        "gpu": gpus
        or "none available on this machine (GPU path: run "
        "`python -m benchmarks --workload da_compare` on a GPU host; "
        "make_sweep shards over all visible devices)",
        "machine": machine_info(),
    }


def summary_lines(record: dict) -> list[str]:
    """A readable table of a ``scaling`` or ``multidevice`` record."""
    if record["workload"] == "multidevice":
        lines = [
            config_text("multidevice", record["config"]),
            "devices  warm s  compile s  max|diff|",
        ]
        for r in record["cpu_fake_devices"]:
            lines.append(
                f"{r['devices']:>7} {r['warm_s']:>7.3f} {r['compile_s']:>10.2f} "
                f"{r['max_abs_diff_vs_1_device']:>9.1e}"
            )
        lines.append(f"GPU: {record['gpu']}")
        return wrap_lines(lines)
    lines = [
        config_text("scaling", record["config"]),
        "     S      T  chunk    warm s  compile s   peak MiB",
    ]
    for key in ("vs_S", "vs_T", "vs_chunk"):
        lines.append(f"-- {key}")
        for r in record[key]:
            mem = "-" if r["peak_bytes"] is None else f"{r['peak_bytes'] / 2**20:.1f}"
            lines.append(
                f"{r['S']:>6} {r['T']:>6} {r['chunk_size']!s:>6} {r['warm_s']:>9.4f} "
                f"{r['compile_s']:>10.2f} {mem:>10}"
            )
    lines.append(f"fastest chunk size at S={record['vs_chunk'][0]['S']}: {record['best_chunk']}")
    return wrap_lines(lines)
