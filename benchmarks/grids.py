"""Workloads ``rho_alpha``, ``toy_basin`` and ``atlas``: the grid studies.

* ``rho_alpha``: exact 2-D stationary points (pretrained, oracle, DA with its
  existence flag) of the block model, :func:`ascentjax.theory.solve` vmapped over a
  1024 x 1024 :math:`(\\rho, \\alpha)` grid in float64. A second call on a grid
  with different :math:`\\rho` values must reuse the compiled function (checked
  with the jit cache size). On the 2-core reference machine the full grid takes
  minutes, so full runs time a slab of ``rows`` :math:`\\rho` values by all 1024
  :math:`\\alpha` values and report the extrapolated full-grid time alongside
  (marked as such); ``rows=1024`` runs the whole grid.
* ``toy_basin``: :func:`ascentjax.toy.descend`, 65,536 initialisations x 2,000
  gradient steps on the toy landscape (paper Sec. 5.2, GDA weights, float32),
  against a batched NumPy gradient descent written from the loss formula
  :math:`L_w(\\theta) = \\sum_i w_i (\\tanh z_i - y_i)^2 + \\lambda\\|\\theta\\|^2`,
  :math:`z_i = \\theta_0 x_i + \\theta_1 x_i^2`; the final points must agree.
* ``atlas``: :func:`ascentjax.theory.classify_da`, the iterative-DA phase diagram over
  a 512 x 512 :math:`(\\eta, \\alpha)` grid with 2,000 iterations per point
  (1,744 transient + 256 recorded) plus the basin test; full runs time a slab of
  ``rows`` :math:`\\eta` values and extrapolate like ``rho_alpha``.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import ascentjax as aj

from ._harness import best_of, config_text, machine_info, register, wrap_lines
from ._roofline import loadavg

# ----------------------------------------------------------------------------- rho-alpha
RHO_FULL = dict(grid=1024, rows=32, lam=0.01)
RHO_QUICK = dict(grid=16, rows=4, lam=0.01)


@register("rho_alpha")
def run_rho_alpha(quick: bool = False, repeats: int = 3, **overrides: Any) -> dict:
    """Time :func:`ascentjax.theory.solve` over the (rho, alpha) grid in float64."""
    cfg = (RHO_QUICK if quick else RHO_FULL) | overrides
    g, rows, lam = cfg["grid"], min(cfg["rows"], cfg["grid"]), cfg["lam"]
    with jax.enable_x64(True):
        rhos = jnp.linspace(0.02, 0.98, g, dtype=jnp.float64)
        alphas = jnp.linspace(0.0, 0.3, g, dtype=jnp.float64)
        r, a = jnp.meshgrid(rhos[:rows], alphas, indexing="ij")
        r, a = r.ravel(), a.ravel()
        solve = jax.jit(jax.vmap(lambda rho, alpha: aj.theory.solve(aj.Block(rho, alpha, lam))))
        t0 = time.perf_counter()
        out = jax.block_until_ready(solve(r, a))
        t_first = time.perf_counter() - t0
        t_warm, _ = best_of(lambda: jax.block_until_ready(solve(r, a)), max(1, repeats - 1))
        t_compile = t_first - t_warm  # first call = trace + compile + one run
        before = solve._cache_size()
        r2 = jnp.meshgrid(rhos[g - rows :], alphas, indexing="ij")[0].ravel()
        t0 = time.perf_counter()
        out2 = jax.block_until_ready(solve(r2, a))
        t_second = time.perf_counter() - t0
        recompiles = solve._cache_size() - before
        exists = np.asarray(out.da.reached)
        finite = bool(np.all(np.isfinite(np.asarray(out.oracle.weights))))
        dtype = str(out.dist_da_oracle.dtype)
    points = rows * g
    return {
        "workload": "rho_alpha",
        "quick": quick,
        "config": {"grid": [g, g], "measured_rows": rows, "lam": lam, "dtype": dtype},
        "results": [
            {
                "impl": "ascentjax",
                "layout": "jit(vmap(theory.solve)) over the flattened grid",
                "points": points,
                "compile_s": t_compile,
                "warm_s": t_warm,
                "second_call_new_rho_s": t_second,
                "points_per_s": points / t_warm,
                "extrapolated_full_grid_s": t_warm * (g * g) / points,
                "extrapolated": rows < g,
                "loadavg_1min": loadavg(),
            }
        ],
        "recompiles_on_new_rho": recompiles,
        "da_exists_fraction": float(exists.mean()),
        "oracle_finite": finite,
        "second_grid_da_exists_fraction": float(np.asarray(out2.da.reached).mean()),
        "comparisons": "none: no NumPy/PyTorch port of the 2-D solver exists",
        "machine": machine_info(),
    }


# ----------------------------------------------------------------------------- toy basins
TOY_FULL = dict(S=65536, T=2000, lam=0.1)
TOY_QUICK = dict(S=256, T=50, lam=0.1)
# float32 GD from identical starts, 2,000 steps of a map contracting near the minima:
# rounding differences stay ~1e-5; points near a basin boundary may split, so the
# check is on the fraction of runs that agree to 1e-3 (all but a handful).
TOY_ATOL, TOY_MIN_AGREE = 1e-3, 0.999


def numpy_toy(theta, w, x, y, lr, lam, T):
    """Batched NumPy gradient descent on the toy loss (float32); theta (S, 2)."""
    a, b = theta[:, :1].copy(), theta[:, 1:].copy()
    x, x2, two = x[None], (x * x)[None], np.float32(2)
    lr, lam2 = np.float32(lr), np.float32(2 * lam)
    for _ in range(T):
        s = np.tanh(a * x + b * x2)  # the default output map, tanh
        r = two * w * (s - y) * (np.float32(1) - s * s)  # 2 w (s - y) tanh'(z)
        ga = (r * x).sum(1, keepdims=True) + lam2 * a
        gb = (r * x2).sum(1, keepdims=True) + lam2 * b
        a, b = a - lr * ga, b - lr * gb
    return np.concatenate([a, b], 1)


@register("toy_basin")
def run_toy_basin(quick: bool = False, repeats: int = 3, **overrides: Any) -> dict:
    """Time :func:`ascentjax.toy.descend` against batched NumPy GD."""
    cfg = (TOY_QUICK if quick else TOY_FULL) | overrides
    S, T, lam = cfg["S"], cfg["T"], cfg["lam"]
    theta = np.random.default_rng(0).uniform(-4, 4, (S, 2)).astype(np.float32)
    data = aj.toy.data(jnp.float32)
    w = np.asarray(aj.toy.weights().gda, np.float32)
    lr = float(aj.toy.stable_learning_rate(jnp.asarray(w), data, lam=lam))
    x, y = np.asarray(data.inputs), np.asarray(data.labels)
    t_np, ref = best_of(lambda: numpy_toy(theta, w, x, y, lr, lam, T), repeats)

    thj = jnp.asarray(theta)

    def call():
        return jax.block_until_ready(
            aj.toy.descend(thj, w, data, steps=T, learning_rate=lr, lam=lam)
        )

    t0 = time.perf_counter()
    out = np.asarray(call())
    t_first = time.perf_counter() - t0
    t_warm, _ = best_of(call, repeats)
    close = np.all(np.abs(out - ref) <= TOY_ATOL, axis=1)
    if not close.mean() >= TOY_MIN_AGREE:
        raise AssertionError(f"toy.descend disagrees with NumPy on {1 - close.mean():.2%}")
    return {
        "workload": "toy_basin",
        "quick": quick,
        "config": {"S": S, "T": T, "lam": lam, "lr": lr, "dtype": "float32", "weights": "gda"},
        "agreement_fraction": float(close.mean()),
        "agreement_atol": TOY_ATOL,
        "results": [
            {"impl": "numpy", "layout": "batched over inits", "warm_s": t_np},
            {
                "impl": "ascentjax",
                "layout": "toy.descend: sweep(run_rule) with optax.sgd",
                "compile_s": t_first - t_warm,
                "warm_s": t_warm,
                "speedup_vs_numpy": t_np / t_warm,
            },
        ],
        "loadavg_1min": loadavg(),
        "machine": machine_info(),
    }


# ----------------------------------------------------------------------------- atlas
ATLAS_FULL = dict(grid=512, rows=32, n_transient=1744, n_record=256)
ATLAS_QUICK = dict(grid=8, rows=4, n_transient=40, n_record=256)


@register("atlas")
def run_atlas(quick: bool = False, repeats: int = 3, **overrides: Any) -> dict:
    """Time :func:`ascentjax.theory.classify_da` over the (eta, alpha) grid."""
    cfg = (ATLAS_QUICK if quick else ATLAS_FULL) | overrides
    g, rows = cfg["grid"], min(cfg["rows"], cfg["grid"])
    etas = np.linspace(0.05, 4.0, g, dtype=np.float32)
    alphas = np.linspace(0.0, 0.2, g, dtype=np.float32)
    e, a = np.meshgrid(etas[:rows], alphas, indexing="ij")
    kw = dict(n_transient=cfg["n_transient"], n_record=cfg["n_record"])

    def call():
        return jax.block_until_ready(aj.theory.classify_da(aj.Block(0.8, a, 0.01), e, **kw))

    t0 = time.perf_counter()
    out = call()
    t_first = time.perf_counter() - t0
    t_warm, _ = best_of(call, max(1, repeats - 1))
    counts = np.bincount(np.asarray(out.regime).ravel(), minlength=len(aj.theory.REGIMES))
    points = rows * g
    return {
        "workload": "atlas",
        "quick": quick,
        "config": {"grid": [g, g], "measured_rows": rows, "dtype": "float32"}
        | {"iterations": cfg["n_transient"] + cfg["n_record"]},
        "regime_counts": dict(zip(aj.theory.REGIMES, counts.tolist())),
        "results": [
            {
                "impl": "ascentjax",
                "layout": "classify_da on a Block (lax.map over chunks of vmapped orbits)",
                "points": points,
                "compile_s": t_first - t_warm,
                "warm_s": t_warm,
                "points_per_s": points / t_warm,
                "extrapolated_full_grid_s": t_warm * g * g / points,
                "extrapolated": rows < g,
                "loadavg_1min": loadavg(),
            }
        ],
        "comparisons": "none: no NumPy/PyTorch port of the orbit classifier exists",
        "machine": machine_info(),
    }


def summary_lines(record: dict) -> list[str]:
    """A readable table of one record (any of the three workloads)."""
    lines = [config_text(record["workload"], record["config"])]
    for r in record["results"]:
        comp = f"{r['compile_s']:.2f}" if "compile_s" in r else "-"
        extra = ""
        if "points_per_s" in r:
            extra = f"  {r['points_per_s']:.0f} points/s"
            # a --quick run's grid is tiny: its extrapolation says nothing
            if r.get("extrapolated") and not record.get("quick"):
                extra += f"; full grid ~{r['extrapolated_full_grid_s']:.0f} s (extrapolated)"
        if "speedup_vs_numpy" in r:
            extra += f"  {r['speedup_vs_numpy']:.1f}x numpy"
        lines.append(
            f"{r['impl']:<10} {r['layout'][:44]:<44} compile {comp:>6} s  warm {r['warm_s']:.3f} s"
            + extra
        )
    if "recompiles_on_new_rho" in record:
        lines.append(f"recompiles on a new rho grid: {record['recompiles_on_new_rho']}")
    if "agreement_fraction" in record:
        lines.append(
            f"runs agreeing with NumPy to {record['agreement_atol']:g}: "
            f"{record['agreement_fraction']:.4f}"
        )
    return wrap_lines(lines)
