"""Workload ``multihost``: the DA sweep on JAX's distributed runtime, 1 and 2 processes.

Starts ``P`` local Python processes (``P = 1, 2``) that join one JAX job over the
loopback address (``jax.distributed.initialize(coordinator_address="127.0.0.1:PORT",
num_processes=P, process_id=i)``, CPU collectives through gloo), each with one CPU
device. Every process builds the same inputs (the reference DA sweep of
:mod:`benchmarks.da_compare`, per-seed data) and calls
``ascentjax.sweep(fn, dataset, w_oracle)`` with no other argument: the rows are
sharded over the devices of all processes and the result is gathered onto
every process. Process 0 saves the result; the record holds

* the largest relative difference between the 2-process and the 1-process
  result (float32; the check fails above ``1e-6``);
* compile and warm times (best of ``repeats``, the slowest process) and the
  speed-up from 1 to 2 processes.

On one machine the processes share its cores (2 here), so the speed-up is that
of two cores, less the cost of the gather; across hosts each process brings its
own. :func:`launch` is the launcher the tests use too: it bounds the run in time
and kills the processes it started if one fails or hangs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._harness import machine_info, register
from ._roofline import loadavg

FULL = dict(S=4096, n=128, d=8, T=500, stride=10, lr=0.1, lam=0.1)
QUICK = dict(S=1024, n=64, d=8, T=200, stride=10, lr=0.1, lam=0.1)
PROCESSES = (1, 2)
TIMEOUT_S = 240.0
# float32: the processes run the per-row program of the single-process sweep on
# fewer rows per device; only the vectorisation of a remainder can differ.
RTOL = 1e-6

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(
    num_processes: int,
    payload: dict,
    *,
    local_devices: int = 1,
    timeout: float = TIMEOUT_S,
    func: str = "benchmarks.multihost:worker",
) -> list[dict]:
    """Run ``func(payload)`` in ``num_processes`` processes of one ``jax.distributed`` job.

    Each process sees ``local_devices`` CPU devices and joins the job on
    127.0.0.1 before calling ``func`` (``"module:function"``), whose JSON-able
    return value is collected. Raises ``RuntimeError`` with the processes'
    output if one fails or the job outlasts ``timeout`` seconds; every process
    started here is killed before returning.
    """
    from sims._devices import with_device_count

    env = dict(os.environ)
    env["XLA_FLAGS"] = with_device_count(env.get("XLA_FLAGS"), local_devices)
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    module, name = func.split(":")
    port = _free_port()
    code = (
        "import json, sys\n"
        "from benchmarks.multihost import _join\n"
        f"from {module} import {name}\n"
        "_join(*json.loads(sys.argv[1]))\n"
        f"print('@@' + json.dumps({name}(json.loads(sys.argv[2]))), flush=True)\n"
    )
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="ajx-multihost-") as tmp:
        logs = [Path(tmp) / f"p{i}.log" for i in range(num_processes)]
        try:
            for i in range(num_processes):
                join = json.dumps([f"127.0.0.1:{port}", num_processes, i])
                with open(logs[i], "w") as log:
                    procs.append(
                        subprocess.Popen(
                            [sys.executable, "-c", code, join, json.dumps(payload)],
                            cwd=ROOT,
                            env=env,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,  # its own process group, killed below
                        )
                    )
            deadline = time.monotonic() + timeout
            failed = None
            while any(p.poll() is None for p in procs):
                if time.monotonic() > deadline:
                    failed = f"timed out after {timeout:.0f} s"
                    break
                if any(p.poll() not in (None, 0) for p in procs):
                    failed = "a process failed"
                    break
                time.sleep(0.05)
            if failed is None and any(p.returncode != 0 for p in procs):
                failed = "a process failed"
            texts = [log.read_text(errors="replace") for log in logs]
            if failed is not None:
                tails = "\n".join(f"--- process {i}:\n{t[-3000:]}" for i, t in enumerate(texts))
                raise RuntimeError(f"multi-process sweep {failed}:\n{tails}")
            return [
                json.loads([ln for ln in t.splitlines() if ln.startswith("@@")][-1][2:])
                for t in texts
            ]
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()


def _join(address: str, num_processes: int, process_id: int) -> None:
    """Join the job (in a process started by :func:`launch`, before anything else)."""
    import jax

    # gloo: JAX's CPU collectives (the default in this JAX; named to make it explicit)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=60,
    )


def problem(cfg: dict) -> tuple[Any, tuple]:
    """The sweep function and its arguments: ``sweep(fn, *args)`` is the workload."""
    import jax.numpy as jnp

    import ascentjax as aj

    from .da_compare import _engine, oracle, prepare
    from .da_sweep import make_data

    data = make_data(cfg["S"], cfg["n"], cfg["d"])
    w_orc = oracle(*prepare(data), cfg["lam"]).astype(np.float32)
    ds = aj.Dataset(**{k: jnp.asarray(v) for k, v in data.items()})
    engine = _engine(cfg["d"], cfg["T"], cfg["stride"], cfg["lam"])
    lr = cfg["lr"]

    def fn(ds: aj.Dataset, w_orc: jnp.ndarray):
        return engine(ds, w_orc, jnp.float32(lr))

    return fn, (ds, jnp.asarray(w_orc))


def worker(payload: dict) -> dict:
    """One process's share of the workload (run by :func:`launch`)."""
    import jax

    import ascentjax as aj

    cfg, repeats, out = payload["cfg"], payload["repeats"], payload.get("out")
    fn, args = problem(cfg)
    t0 = time.perf_counter()
    result = jax.block_until_ready(aj.sweep(fn, *args))
    first = time.perf_counter() - t0
    warm = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(aj.sweep(fn, *args))
        warm = min(warm, time.perf_counter() - t0)
    if out is not None and jax.process_index() == 0:
        np.savez(out, final=np.asarray(result[0]), observed=np.asarray(result[1]))
    return {
        "process": jax.process_index(),
        "processes": jax.process_count(),
        "devices": len(jax.devices()),
        "local_devices": len(jax.local_devices()),
        "compile_s": max(0.0, first - warm),
        "warm_s": warm,
    }


def rel_diff(a: dict, b: dict) -> float:
    """Largest difference of the arrays in ``a`` and ``b``, relative to ``max(1, |b|)``."""
    errs = []
    for k in b:
        ref = b[k].astype(np.float64)
        errs.append(float(np.max(np.abs(a[k] - ref)) / max(1.0, float(np.max(np.abs(ref))))))
    return max(errs)


@register("multihost")
def run(quick: bool = False, repeats: int = 3, **overrides: Any) -> dict:
    """The DA sweep in 1 and 2 ``jax.distributed`` processes on this machine."""
    cfg = dict(QUICK if quick else FULL) | overrides
    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="ajx-multihost-") as tmp:
        for P in PROCESSES:
            out = str(Path(tmp) / f"out{P}.npz")
            procs = launch(P, {"cfg": cfg, "repeats": repeats, "out": out})
            with np.load(out) as f:
                results[P] = {k: f[k] for k in f.files}
            rows.append(
                {
                    "processes": P,
                    "devices": procs[0]["devices"],
                    "compile_s": max(p["compile_s"] for p in procs),
                    "warm_s": max(p["warm_s"] for p in procs),
                    "loadavg_1min": loadavg(),
                }
            )
    err = rel_diff(results[PROCESSES[-1]], results[PROCESSES[0]])
    if not err <= RTOL:
        raise AssertionError(f"{PROCESSES[-1]}-process sweep differs from 1 process: {err:.2e}")
    return {
        "workload": "multihost",
        "quick": quick,
        "config": cfg | {"dtype": "float32", "repeats": repeats, "collectives": "gloo"},
        "rows": rows,
        "rel_diff_vs_1_process": err,
        "rtol": RTOL,
        "speedup_1_to_2": rows[0]["warm_s"] / rows[-1]["warm_s"],
        "machine": machine_info(),
    }


def summary_lines(record: dict) -> list[str]:
    """A readable table of the record."""
    cfg = record["config"]
    lines = [
        f"multihost  S={cfg['S']} n={cfg['n']} d={cfg['d']} T={cfg['T']} float32, "
        f"jax.distributed on 127.0.0.1, CPU collectives {cfg['collectives']}, "
        "sweep(fn, data) with defaults",
        f"{'processes':>9} {'devices':>7} {'compile s':>9} {'warm s':>8} {'load':>5}",
    ]
    for r in record["rows"]:
        lines.append(
            f"{r['processes']:>9} {r['devices']:>7} {r['compile_s']:>9.2f} {r['warm_s']:>8.3f} "
            f"{r['loadavg_1min'] or 0:>5.1f}"
        )
    lines.append(
        f"2 processes vs 1: max relative difference {record['rel_diff_vs_1_process']:.1e} "
        f"(tolerance {record['rtol']:g}); speed-up 1 -> 2 processes "
        f"{record['speedup_1_to_2']:.2f}x"
    )
    return lines
