"""Shared benchmark plumbing: the workload registry, timers, machine info, JSON output."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sims._devices import with_device_count

WORKLOADS: dict[str, Callable[..., dict]] = {}

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def register(name: str) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
    """Decorator: register ``run(quick, repeats) -> dict`` under ``name``."""

    def deco(fn: Callable[..., dict]) -> Callable[..., dict]:
        if name in WORKLOADS and WORKLOADS[name] is not fn:
            raise ValueError(f"workload {name!r} registered twice")
        WORKLOADS[name] = fn
        return fn

    return deco


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls of ``fn`` (which must block until done)."""
    best, out = float("inf"), None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def machine_info() -> dict:
    """Where the numbers were measured (timings are only comparable within one record)."""
    import jax
    import numpy as np

    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        info["loadavg_1min"] = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        pass
    return info


def run_in_cpu_devices(module: str, func: str, n_devices: int, *args: Any) -> Any:
    """``module.func(*args)`` in a child process that sees ``n_devices`` CPU devices.

    The device count is an XLA flag read once when JAX starts, so it needs a fresh
    process (``--xla_force_host_platform_device_count``); ``args`` and the result
    travel as JSON. Raises ``RuntimeError`` with the child's stderr if it fails.
    """
    env = dict(os.environ)
    env["XLA_FLAGS"] = with_device_count(env.get("XLA_FLAGS"), n_devices)
    env["JAX_PLATFORMS"] = "cpu"
    code = (
        f"import json; from {module} import {func}; "
        f"print('@@' + json.dumps({func}(*json.loads({json.dumps(json.dumps(args))}))))"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module}.{func} child failed:\n{proc.stderr[-2000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


def write_json(path: Path, record: dict) -> Path:
    """Write ``record`` atomically as indented JSON; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


WIDTH = 119  # longest printed line of a summary


def config_text(name: str, config: dict) -> str:
    """``name  key=value, key=value`` (lists as ``8x8``), for a summary's first line."""

    def fmt(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return "x".join(str(x) for x in v)
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)

    return f"{name}  " + ", ".join(f"{k}={fmt(v)}" for k, v in config.items())


def wrap_lines(lines: list[str], width: int = WIDTH) -> list[str]:
    """Wrap prose lines longer than ``width`` at spaces (continuations indented)."""
    import textwrap

    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
        else:
            out += textwrap.wrap(line, width=width, subsequent_indent="    ")
    return out
