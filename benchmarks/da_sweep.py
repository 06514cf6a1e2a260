"""Workload ``da_sweep``: simultaneous descent-ascent on logistic regression, many seeds.

Each of ``S`` seeds has its own noisy data set (``n`` samples, ``d`` features,
the first ``n // 8`` samples form the forget set) and runs ``T`` full-batch steps
of simultaneous DA, :math:`w \\leftarrow w - \\eta \\nabla L_{DA}(w)` with the
logistic loss and ridge :math:`\\lambda`, in float32 (reference configuration of
``shared/notes/PERFORMANCE.md``: S = 4096, n = 128, d = 8, T = 500).

Implementations:

* ``numpy``: a well-written batched NumPy loop over steps, vectorised over seeds
  with batched matmuls (no per-seed loop);
* ``ascentjax``: :func:`ascentjax.sweep` of :func:`ascentjax.run_rule` with
  :func:`ascentjax.simultaneous_da` (includes the engine's per-step divergence
  check), for several ``chunk_size`` values (``None``: one vmap over all seeds;
  otherwise the seed-blocked layout: ``lax.map`` over blocks of a vmapped loop);
* ``jax_bare``: a hand-written ``jit(vmap(fori_loop))`` of the same update without
  divergence checks, to show the engine's overhead.

All implementations are checked against NumPy before anything is timed.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import ascentjax as aj

from ._harness import best_of, machine_info, register, wrap_lines

FULL = dict(S=4096, n=128, d=8, T=500, lr=0.1, lam=0.1, chunk_sizes=[None, 64, 128, 256])
QUICK = dict(S=64, n=32, d=4, T=20, lr=0.1, lam=0.1, chunk_sizes=[None, 16])

# float32 agreement: T steps, each with O(d + n) float32 roundings of relative size
# 2^-24 ~ 6e-8 on a contracting map (lam > 0); measured differences are ~1e-6.
RTOL = 1e-4


def make_data(S: int, n: int, d: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-seed noisy logistic-regression data, float32 NumPy arrays."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((S, n, d), dtype=np.float32)
    w_true = rng.standard_normal((S, d), dtype=np.float32)
    logits = np.einsum("snd,sd->sn", x, w_true) + 0.5 * rng.standard_normal((S, n), np.float32)
    y = np.where(logits >= 0, 1.0, -1.0).astype(np.float32)
    forget = np.zeros((S, n), bool)
    forget[:, : max(1, n // 8)] = True
    weight = np.ones((S, n), np.float32)
    return dict(x=x, y=y, forget=forget, weight=weight)


def numpy_da(data: dict[str, np.ndarray], T: int, lr: float, lam: float) -> np.ndarray:
    """Batched NumPy simultaneous DA (logistic loss); returns final weights (S, d)."""
    x, y, f, v = data["x"], data["y"], data["forget"], data["weight"]
    lr, lam = np.float32(lr), np.float32(lam)
    vr = np.where(f, 0, v)
    vf = np.where(f, v, 0)
    # per-sample coefficient of the loss in L_DA: +v/|R| on R, -v/|F| on F; times y
    c = (vr / vr.sum(1, keepdims=True) - vf / vf.sum(1, keepdims=True)).astype(np.float32)
    cy = (c * y)[:, None, :]  # (S, 1, n)
    S, _, d = x.shape
    w = np.zeros((S, d, 1), np.float32)
    one = np.float32(1)
    for _ in range(T):
        m = y[:, :, None] * np.matmul(x, w)  # (S, n, 1)
        s = one / (one + np.exp(m))  # -d loss / d m = sigmoid(-m)
        g = -np.matmul(cy * s.transpose(0, 2, 1), x)  # (S, 1, d)
        w = w - lr * (g.transpose(0, 2, 1) + lam * w)
    return w[:, :, 0]


def _to_dataset(data: dict[str, np.ndarray]) -> aj.Dataset:
    return aj.Dataset(
        x=jnp.asarray(data["x"]),
        y=jnp.asarray(data["y"]),
        forget=jnp.asarray(data["forget"]),
        weight=jnp.asarray(data["weight"]),
    )


def _engine_fn(d: int, T: int, lr: float, lam: float):
    def one_seed(data: aj.Dataset) -> jax.Array:
        rule = aj.simultaneous_da(lr, lam=lam, loss="logistic")
        w0 = jnp.zeros(d, data.x.dtype)
        return aj.run_rule(rule, w0, data, steps=T, stride=T).final

    return one_seed


def _bare_fn(d: int, T: int, lr: float, lam: float):
    def one_seed(x, y, cy):
        def body(_, w):
            m = y * (x @ w)
            g = -(cy * jax.nn.sigmoid(-m)) @ x + lam * w
            return w - lr * g

        return jax.lax.fori_loop(0, T, body, jnp.zeros(d, x.dtype))

    return jax.jit(jax.vmap(one_seed))


def _rel_err(a: Any, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


@register("da_sweep")
def run(quick: bool = False, repeats: int = 3, **overrides: Any) -> dict:
    """Run the workload; returns a JSON-serialisable record (see module docstring)."""
    cfg = dict(QUICK if quick else FULL)
    cfg.update(overrides)
    S, n, d, T, lr, lam = (cfg[k] for k in ("S", "n", "d", "T", "lr", "lam"))
    data = make_data(S, n, d)
    results: list[dict] = []

    # ---- reference: batched NumPy
    t_np, w_np = best_of(lambda: numpy_da(data, T, lr, lam), repeats)
    w_np = w_np.astype(np.float64)
    results.append({"impl": "numpy", "layout": "batched matmul over seeds", "warm_s": t_np})

    # ---- ascentjax engine, several chunkings
    ds = _to_dataset(data)
    fn = _engine_fn(d, T, lr, lam)
    agreement = {}
    for chunk in cfg["chunk_sizes"]:
        swept = aj.make_sweep(fn, chunk_size=chunk)
        lowered = swept.lower(ds)
        t_compile, compiled = best_of(lowered.compile, 1)
        w = np.asarray(compiled(ds))  # agreement first, then timing
        err = _rel_err(w, w_np)
        agreement[f"ascentjax_chunk_{chunk}"] = err
        if not err <= RTOL:
            raise AssertionError(f"ascentjax (chunk_size={chunk}) disagrees with NumPy: {err}")
        t_warm, _ = best_of(lambda c=compiled: jax.block_until_ready(c(ds)), repeats)
        results.append(
            {
                "impl": "ascentjax",
                "layout": "one vmap" if chunk is None else f"lax.map over blocks of {chunk} seeds",
                "chunk_size": chunk,
                "compile_s": t_compile,
                "warm_s": t_warm,
            }
        )

    # ---- hand-written jit(vmap(fori_loop)), no divergence checks
    vr = np.where(data["forget"], 0, data["weight"])
    vf = np.where(data["forget"], data["weight"], 0)
    cy = (vr / vr.sum(1, keepdims=True) - vf / vf.sum(1, keepdims=True)) * data["y"]
    args = (jnp.asarray(data["x"]), jnp.asarray(data["y"]), jnp.asarray(cy, jnp.float32))
    bare = _bare_fn(d, T, lr, lam)
    t_compile, compiled = best_of(bare.lower(*args).compile, 1)
    err = _rel_err(compiled(*args), w_np)
    agreement["jax_bare"] = err
    if not err <= RTOL:
        raise AssertionError(f"jax_bare disagrees with NumPy: {err}")
    t_warm, _ = best_of(lambda: jax.block_until_ready(compiled(*args)), repeats)
    results.append(
        {
            "impl": "jax_bare",
            "layout": "jit(vmap(fori_loop)), no divergence check",
            "compile_s": t_compile,
            "warm_s": t_warm,
        }
    )

    engine = [r for r in results if r["impl"] == "ascentjax"]
    best = min(engine, key=lambda r: r["warm_s"])
    flops = 4.0 * S * n * d * T  # two matvecs per step, 2 flops per multiply-add
    return {
        "workload": "da_sweep",
        "quick": quick,
        "config": {k: cfg[k] for k in ("S", "n", "d", "T", "lr", "lam")}
        | {"dtype": "float32", "loss": "logistic", "repeats": repeats},
        "agreement_rel_err": agreement,
        "agreement_rtol": RTOL,
        "results": results,
        "best_ascentjax": {"chunk_size": best["chunk_size"], "warm_s": best["warm_s"]},
        "speedup_vs_numpy": t_np / best["warm_s"],
        "approx_gflop": flops / 1e9,
        "machine": machine_info(),
    }


def summary_lines(record: dict) -> list[str]:
    """A readable table of one record."""
    lines = [
        f"da_sweep  S={record['config']['S']} n={record['config']['n']} "
        f"d={record['config']['d']} T={record['config']['T']} float32, logistic loss",
        f"{'implementation':<12} {'layout':<42} {'compile s':>10} {'warm s':>9}",
    ]
    for r in record["results"]:
        comp = f"{r['compile_s']:.3f}" if "compile_s" in r else "-"
        lines.append(f"{r['impl']:<12} {r['layout']:<42} {comp:>10} {r['warm_s']:>9.4f}")
    lines.append(
        f"speed-up of the best ascentjax layout over NumPy: {record['speedup_vs_numpy']:.2f}x "
        f"(chunk_size={record['best_ascentjax']['chunk_size']}); max relative disagreement "
        f"{max(record['agreement_rel_err'].values()):.1e} (tolerance {record['agreement_rtol']:g})"
    )
    return wrap_lines(lines)
