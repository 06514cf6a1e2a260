"""Workload ``da_compare``: the reference DA sweep, every implementation, one run.

Simultaneous DA on logistic regression with ridge :math:`\\lambda`, float32:
``S`` seeds each with its own noisy data set (``n`` samples, ``d`` features, the
first ``n // 8`` samples are the forget set), ``T`` full-batch steps from
:math:`w = 0`; outputs are the final weights ``(S, d)`` and the distance to the
seed's oracle (ridge logistic regression on the retain set, solved by batched
float64 Newton in NumPy) every ``stride = 10`` steps, ``(S, T / 10)``.

With :math:`z_i = y_i x_i` and :math:`c_i = v_i/|R|` on R, :math:`-v_i/|F|` on F,
one step is two matrix-vector products per seed,

.. math:: m = Z w,\\quad g = -Z^\\top (c \\odot \\sigma(-m)) + \\lambda w,\\quad
    w \\leftarrow w - \\eta g,

``4 n d`` flops (the sigmoid and the update are not counted, which makes the
compute bound, and so the reported fraction of it, conservative).

Implementations (all checked against the batched NumPy result before timing):

* ``numpy``: batched over seeds (``np.matmul`` on ``(S, n, d)``), loop over steps;
* ``torch``: the same with batched ``torch.bmm`` (skipped, "not installed", without torch);
* ``jax_loop``: a Python loop over seeds calling one jitted single-seed ``lax.scan``;
* ``jax_vmap``: ``jit(vmap(scan))``, every step streams every seed's data;
* ``jax_blocked``: :func:`ascentjax.make_sweep` with ``chunk_size`` (``lax.map``
  over blocks of seeds of a vmapped scan: a block's data stays in cache for all T steps);
* ``jax_blocked_reduce``: blocked, with the matvecs written as broadcast-multiply
  and sum (XLA fuses them into one loop nest instead of a batched dot);
* ``ascentjax``: the library path, :func:`ascentjax.sweep` of
  :func:`ascentjax.run_rule` with :func:`ascentjax.simultaneous_da` (autodiff
  gradient and a per-step divergence check), plain and chunked.

* ``ascentjax`` with ``compiler_options={"xla_cpu_prefer_vector_width": 512}``
  (512-bit vectors; JAX's CPU default is 256).
* ``default``: ``ascentjax.sweep(fn, dataset, w_oracle)`` with no argument beyond the
  function and the data, as a user calls it: the chunk size, the vector width and the
  devices are the library's own choices (``default_shared``: the shared-data case,
  which needs ``in_axes`` to say the data set is shared). Their "compile s" column is
  the first call (compile plus one run).

The explicit rows name their configuration in full (``1 dev``: one device,
``256-bit``: ``xla_cpu_prefer_vector_width=256``, JAX's own default), so they mean the
same whatever the defaults are.

**All cores.** ``python -m benchmarks`` starts JAX with one CPU device per core
(``--devices``); then the library rows are rerun sharded over all of them (rows
marked ``N dev``). A process that sees one device (a test calling :func:`run`)
reruns them in a child process started with
``XLA_FLAGS=--xla_force_host_platform_device_count=<cores>``; either way the outputs
are checked against the same NumPy reference.

A second configuration shares one data set between all seeds (seeds differ in
their initial weights, as in sweeps over initialisations, step sizes or
:math:`\\lambda`): then a step is two GEMMs, ``M = Z W`` and ``G = Z^T (c * sigma(-M))``
with ``W`` of shape ``(d, S)`` (``numpy_gemm``, ``jax_gemm``), against the per-seed
``vmap`` on the shared data (``jax_vmap_shared``) and the library path
(``sweep(run_rule)`` with the dataset passed unbatched, ``in_axes=None``: ``vmap``
of the prepared step *is* the pair of GEMMs).

Targets (from the measured NumPy baseline of the reference sweep): per-seed
data at most 0.17 s (30x the 5.2 s NumPy figure there), shared data at most 0.1 s,
and at least 50% of the roofline bound; the ``default`` row within 1.3x of the best
library row and at least 8x batched NumPy in the same run. The summary states which
are met.

The record also holds the machine's measured matmul and copy peaks, the roofline
fraction of each implementation, the load average at each measurement, and a
check that a second call with a different step size does not recompile.
"""

from __future__ import annotations

import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import ascentjax as aj

from ._harness import best_of, machine_info, register, run_in_cpu_devices, wrap_lines
from ._roofline import loadavg, machine_peaks, roofline
from .da_sweep import make_data

FULL = dict(S=4096, n=128, d=8, T=500, stride=10, lr=0.1, lam=0.1, blocks=[64, 256])
FULL |= dict(gemm_block=256, lib_blocks=[64, 128], shared_blocks=[None, 1024])
QUICK = dict(S=64, n=32, d=4, T=20, stride=10, lr=0.1, lam=0.1, blocks=[16], gemm_block=16)
QUICK |= dict(lib_blocks=[16], shared_blocks=[None])

# targets (seconds), derived from the 5.2 s NumPy baseline of the reference sweep
TARGET_PER_SEED_S = 0.17
TARGET_SHARED_S = 0.1
TARGET_FRACTION = 0.5
WIDE = {"xla_cpu_prefer_vector_width": 512}
NARROW = {"xla_cpu_prefer_vector_width": 256}  # JAX's own CPU default
TARGET_DEFAULT_VS_BEST = 1.3
TARGET_DEFAULT_VS_NUMPY = 8.0

# float32 agreement: T steps of a contracting map (lam > 0), each with O(n + d)
# float32 roundings of relative size 2^-24 ~ 6e-8; measured differences ~1e-6.
RTOL = 1e-4


# ----------------------------------------------------------------------------- inputs
def prepare(data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``z = y x`` (S, n, d) and the signed per-sample coefficients ``c`` (S, n)."""
    v, f = data["weight"], data["forget"]
    vr, vf = np.where(f, 0, v), np.where(f, v, 0)
    c = vr / vr.sum(-1, keepdims=True) - vf / vf.sum(-1, keepdims=True)
    z = data["y"][..., None] * data["x"]
    return z.astype(np.float32), c.astype(np.float32)


def oracle(z: np.ndarray, c: np.ndarray, lam: float, iters: int = 30) -> np.ndarray:
    """Ridge logistic regression on the retain set (``c > 0``), batched float64 Newton."""
    z = z.astype(np.float64)
    cr = np.where(c > 0, c, 0).astype(np.float64)  # v_i / |R| on R, 0 on F
    w = np.zeros(z.shape[:-2] + z.shape[-1:])
    eye = np.eye(z.shape[-1])
    for _ in range(iters):
        m = np.einsum("...nd,...d->...n", z, w)
        p = 1.0 / (1.0 + np.exp(m))  # sigma(-m)
        g = -np.einsum("...n,...nd->...d", cr * p, z) + lam * w
        h = np.einsum("...n,...nd,...ne->...de", cr * p * (1 - p), z, z) + lam * eye
        w = w - np.linalg.solve(h, g[..., None])[..., 0]
    return w


# ----------------------------------------------------------------------------- numpy / torch
def numpy_da(z, c, w_orc, T, stride, lr, lam, w0=None):
    """Batched NumPy: returns (final (S, d), distances (S, T // stride))."""
    S, _, d = z.shape
    lr, lam, one = np.float32(lr), np.float32(lam), np.float32(1)
    w = np.zeros((S, d, 1), np.float32) if w0 is None else w0[..., None].copy()
    zt = np.ascontiguousarray(z.transpose(0, 2, 1))
    c3 = c[:, :, None]
    dist = []
    for t in range(T):
        m = np.matmul(z, w)  # (S, n, 1)
        s = c3 / (one + np.exp(m))
        w = w - lr * (lam * w - np.matmul(zt, s))
        if (t + 1) % stride == 0:
            dist.append(np.linalg.norm(w[..., 0] - w_orc, axis=-1))
    return w[..., 0], np.stack(dist, -1)


def numpy_gemm(z, c, w_orc, T, stride, lr, lam, w0):
    """One data set ``z`` (n, d) shared by all seeds; ``W`` (d, S): two GEMMs per step."""
    lr, lam, one = np.float32(lr), np.float32(lam), np.float32(1)
    W = np.ascontiguousarray(w0.T)
    zt = np.ascontiguousarray(z.T)
    c2 = c[:, None]
    dist = []
    for t in range(T):
        s = c2 / (one + np.exp(z @ W))
        W = W - lr * (lam * W - zt @ s)
        if (t + 1) % stride == 0:
            dist.append(np.linalg.norm(W.T - w_orc, axis=-1))
    return W.T, np.stack(dist, -1)


def torch_da(z, c, w_orc, T, stride, lr, lam):
    """Batched PyTorch eager (``torch.bmm``) on CPU, float32."""
    import torch

    with torch.inference_mode():
        zz = torch.from_numpy(z)
        zt = zz.transpose(1, 2).contiguous()
        c3 = torch.from_numpy(c)[:, :, None]
        wo = torch.from_numpy(w_orc.astype(np.float32))
        w = torch.zeros(z.shape[0], z.shape[2], 1)
        dist = []
        for t in range(T):
            s = c3 * torch.sigmoid(-torch.bmm(zz, w))
            w = w - lr * (lam * w - torch.bmm(zt, s))
            if (t + 1) % stride == 0:
                dist.append(torch.linalg.vector_norm(w[..., 0] - wo, dim=-1))
        return w[..., 0].numpy(), torch.stack(dist, -1).numpy()


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- JAX
def _one_seed(T: int, stride: int, reduce: bool = False):
    """Single-seed DA: ``(z, c, w_orc, w0, lr, lam) -> (final, distances)``."""

    def fn(z, c, w_orc, w0, lr, lam):
        def step(w, _):
            if reduce:
                m = jnp.sum(z * w, axis=-1)
                g = lam * w - jnp.sum((c * jax.nn.sigmoid(-m))[:, None] * z, axis=0)
            else:
                m = z @ w
                g = lam * w - (c * jax.nn.sigmoid(-m)) @ z
            return w - lr * g, None

        def block(w, _):
            w, _ = jax.lax.scan(step, w, None, length=stride)
            return w, jnp.linalg.norm(w - w_orc)

        return jax.lax.scan(block, w0, None, length=T // stride)

    return fn


def _one_seed_lanes(T: int, stride: int):
    """Single-seed DA with the data transposed to ``(d, n)``: ``n`` on the vector lanes."""

    def fn(z, c, w_orc, w0, lr, lam):
        zt = z.T  # loop-invariant: XLA hoists it out of the step loop

        def step(w, _):
            m = w @ zt
            return w - lr * (lam * w - zt @ (c * jax.nn.sigmoid(-m))), None

        def block(w, _):
            w, _ = jax.lax.scan(step, w, None, length=stride)
            return w, jnp.linalg.norm(w - w_orc)

        return jax.lax.scan(block, w0, None, length=T // stride)

    return fn


def _gemm_blocked(T: int, stride: int, S: int, block: int):
    """:func:`_gemm` over column blocks of ``W`` (``lax.map``): ``M`` stays in cache."""
    inner = _gemm(T, stride)

    def fn(z, c, w_orc, W0, lr, lam):
        nb = S // block
        rs = lambda x: x.reshape((nb, block) + x.shape[1:])  # noqa: E731
        W, dist = jax.lax.map(lambda t: inner(z, c, t[0], t[1], lr, lam), (rs(w_orc), rs(W0)))
        return W.reshape(S, -1), dist.reshape(S, -1)

    return jax.jit(fn)


def _gemm(T: int, stride: int):
    """Shared data, all seeds at once: ``W`` (d, S) and two GEMMs per step."""

    def fn(z, c, w_orc, W0, lr, lam):
        def step(W, _):
            s = c[:, None] * jax.nn.sigmoid(-(z @ W))
            return W - lr * (lam * W - z.T @ s), None

        def block(W, _):
            W, _ = jax.lax.scan(step, W, None, length=stride)
            return W, jnp.linalg.norm(W.T - w_orc, axis=-1)

        W, dist = jax.lax.scan(block, W0.T, None, length=T // stride)
        return W.T, dist.T

    return jax.jit(fn)


def _narrow() -> dict | None:
    """JAX's default vector width, named (the library's default is wider on AVX-512)."""
    return NARROW if jax.default_backend() == "cpu" else None


def _engine(d: int, T: int, stride: int, lam: float):
    def fn(ds: aj.Dataset, w_orc: jax.Array, lr: jax.Array):
        rule = aj.simultaneous_da(lr, lam=lam, loss="logistic")
        traj = aj.run_rule(
            rule,
            jnp.zeros(d, ds.x.dtype),
            ds,
            steps=T,
            stride=stride,
            observe=lambda w: jnp.linalg.norm(w - w_orc),
        )
        return traj.final, traj.observed

    return fn


def _engine_shared(T: int, stride: int, lam: float):
    """Library path, one shared dataset: seeds differ in their initial weights."""

    def fn(w0: jax.Array, ds: aj.Dataset, w_orc: jax.Array, lr: jax.Array):
        rule = aj.simultaneous_da(lr, lam=lam, loss="logistic")
        traj = aj.run_rule(
            rule, w0, ds, steps=T, stride=stride, observe=lambda w: jnp.linalg.norm(w - w_orc)
        )
        return traj.final, traj.observed

    return fn


def _library_rows(cfg: dict, data: dict, refs: dict, repeats: int, devices=None) -> list[dict]:
    """The library path (per-seed and shared data), default and 512-bit vectors.

    ``refs`` holds the batched NumPy outputs ``per_seed`` and ``shared`` that every
    row is checked against (``RTOL``) before it is timed.
    """
    d, T, stride, lr, lam = (cfg[k] for k in ("d", "T", "stride", "lr", "lam"))
    w_orc = refs["w_orc"]
    devices = devices or jax.devices()[:1]
    ndev = len(devices)
    tag = f"{ndev} dev" if ndev > 1 else "1 dev"
    rows = []
    ds = aj.Dataset(
        x=jnp.asarray(data["x"]),
        y=jnp.asarray(data["y"]),
        forget=jnp.asarray(data["forget"]),
        weight=jnp.asarray(data["weight"]),
    )
    ds1 = jax.tree_util.tree_map(lambda a: a[0], ds)
    oj = jnp.asarray(w_orc, jnp.float32)
    lrj = jnp.float32(lr)
    w0_shared = jnp.asarray(refs["w0_shared"])
    cases = []
    for chunk in cfg["lib_blocks"]:
        cases.append(("per_seed", chunk, _engine(d, T, stride, lam), (0, 0, None), (ds, oj, lrj)))
    for chunk in cfg["shared_blocks"]:
        args = (w0_shared, ds1, oj[0], lrj)
        cases.append(("shared", chunk, _engine_shared(T, stride, lam), (0, None, None, None), args))
    for kind, chunk, fn, axes, args in cases:
        for options, width in ((_narrow(), "256-bit"), (WIDE, "512-bit")):
            swept = aj.make_sweep(
                fn, chunk_size=chunk, in_axes=axes, devices=devices, compiler_options=options
            )
            tc, tw, out = _timed_jax(swept, args, repeats)
            err = max(_rel_err(o, r) for o, r in zip(out, refs[kind]))
            if not err <= RTOL:
                raise AssertionError(f"library {kind} chunk {chunk} disagrees with NumPy: {err}")
            rows.append(
                {
                    "impl": "ascentjax" if kind == "per_seed" else "ascentjax_shared",
                    "layout": f"sweep(run_rule) chunk={chunk}, {width}, {tag}",
                    "kind": kind,
                    "chunk_size": chunk,
                    "vector_width": width,
                    "devices": ndev,
                    "warm_s": tw,
                    "compile_s": tc,
                    "rel_err_vs_numpy": err,
                    "loadavg_1min": loadavg(),
                    "cpu_s_per_call": _CPU.pop("last", None),
                }
            )
    return rows


def _child(cfg: dict, repeats: int) -> list[dict]:
    """Runs in a child process started with one fake CPU device per core."""
    data = make_data(cfg["S"], cfg["n"], cfg["d"])
    return _library_rows(cfg, data, _references(cfg, data), repeats)


def _references(cfg: dict, data: dict) -> dict:
    """Batched NumPy outputs (per-seed and shared data) that every row must match."""
    S, d, T, stride, lr, lam = (cfg[k] for k in ("S", "d", "T", "stride", "lr", "lam"))
    z, c = prepare(data)
    w_orc = oracle(z, c, lam)
    w0_shared = np.random.default_rng(1).standard_normal((S, d), dtype=np.float32)
    o1 = np.broadcast_to(w_orc[0], (S, d))
    return {
        "w_orc": w_orc,
        "w0_shared": w0_shared,
        "per_seed": numpy_da(z, c, w_orc, T, stride, lr, lam),
        "shared": numpy_gemm(z[0], c[0], o1, T, stride, lr, lam, w0_shared),
    }


def _all_cores_rows(cfg: dict, data: dict, refs: dict, repeats: int) -> tuple[list[dict], str]:
    """The library rows on one CPU device per core (``[]`` on one core).

    In this process when it already sees that many devices, else in a child process.
    """
    cores = os.cpu_count() or 1
    if cores < 2 or jax.default_backend() != "cpu":
        return [], f"skipped: {cores} core(s), backend {jax.default_backend()}"
    if len(jax.devices()) >= cores:
        rows = _library_rows(cfg, data, refs, repeats, devices=jax.devices()[:cores])
        return rows, f"ok: {cores} CPU devices (this process)"
    rows = run_in_cpu_devices("benchmarks.da_compare", "_child", cores, cfg, repeats)
    return rows, f"ok: {cores} CPU devices (child process)"


def _default_fn(d: int, T: int, stride: int, lam: float, lr: float):
    """``(dataset, w_orc) -> (final, distances)``: the per-seed run, step size fixed."""
    engine = _engine(d, T, stride, lam)

    def fn(ds: aj.Dataset, w_orc: jax.Array):
        return engine(ds, w_orc, jnp.float32(lr))

    return fn


def _default_shared_fn(T: int, stride: int, lam: float, lr: float, w_orc: np.ndarray):
    """``(w0, dataset) -> (final, distances)``: one shared data set, seeds differ in w0."""
    engine = _engine_shared(T, stride, lam)
    target = jnp.asarray(w_orc, jnp.float32)

    def fn(w0: jax.Array, ds: aj.Dataset):
        return engine(w0, ds, target, jnp.float32(lr))

    return fn


def _describe_defaults(fn, args, in_axes=None) -> str:
    """What the library chose for a default sweep (chunk, vector width, devices)."""
    from ascentjax._sweep import _default_options

    chunk = aj.auto_chunk_size(fn, *args, in_axes=in_axes)
    wide = _default_options(tuple(jax.devices())).get("xla_cpu_prefer_vector_width")
    width = f"{wide}-bit" if wide else "XLA width"
    return f"chunk={chunk}, {width}, {len(jax.devices())} dev"


def _timed_default(fn, args, repeats, in_axes=None):
    """(first-call s, warm s, output) of ``aj.sweep(fn, *args)`` as a user calls it."""
    kw = {} if in_axes is None else {"in_axes": in_axes}
    t0 = time.perf_counter()
    out = jax.block_until_ready(aj.sweep(fn, *args, **kw))
    first = time.perf_counter() - t0
    t_warm, _ = _best(lambda: jax.block_until_ready(aj.sweep(fn, *args, **kw)), repeats)
    return first, t_warm, out


def _rel_err(a: Any, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def _timed_jax(fn, args, repeats):
    """(compile_s, warm_s, output) of ``jax.jit``-ed ``fn`` on ``args``."""
    t0 = time.perf_counter()
    compiled = fn.lower(*args).compile()
    t_compile = time.perf_counter() - t0
    out = jax.block_until_ready(compiled(*args))
    c0 = time.process_time()
    t_warm, _ = best_of(lambda: jax.block_until_ready(compiled(*args)), repeats)
    _CPU["last"] = (time.process_time() - c0) / max(1, repeats)
    return t_compile, t_warm, out


def _best(fn, repeats):
    """:func:`best_of` that also records CPU seconds per call in ``_CPU``."""
    c0 = time.process_time()
    out = best_of(fn, repeats)
    _CPU["last"] = (time.process_time() - c0) / max(1, repeats)
    return out


# process CPU seconds per call of the last timing (mean over repeats, all threads): less
# sensitive than wall time to other processes on a shared machine.
_CPU: dict[str, float] = {}


# ----------------------------------------------------------------------------- workload
@register("da_compare")
def run(quick: bool = False, repeats: int = 3, **overrides: Any) -> dict:
    """Run every implementation of the reference DA sweep; returns a JSON record."""
    cfg = dict(QUICK if quick else FULL)
    cfg.update(overrides)
    S, n, d, T, stride, lr, lam = (cfg[k] for k in ("S", "n", "d", "T", "stride", "lr", "lam"))
    data = make_data(S, n, d)
    z, c = prepare(data)
    w_orc = oracle(z, c, lam)
    ref: tuple[np.ndarray, np.ndarray] | None = None
    results: list[dict] = []
    agreement: dict[str, float] = {}
    flops = 4.0 * S * n * d * T
    bytes_once = 4.0 * S * n * (d + 1)  # compulsory traffic: every seed's z and c read once
    bytes_stream = 4.0 * S * n * d * 2 * T  # z streamed from memory twice per step

    def check(name: str, out: Any) -> None:
        errs = [_rel_err(o, r) for o, r in zip(out, ref)]
        agreement[name] = max(errs)
        if not agreement[name] <= RTOL:
            raise AssertionError(f"{name} disagrees with batched NumPy: {errs}")

    def add(impl: str, layout: str, warm: float, compile_s: float | None = None, **kw) -> None:
        row = {"impl": impl, "layout": layout, "warm_s": warm, "loadavg_1min": loadavg()}
        row["cpu_s_per_call"] = _CPU.pop("last", None)
        if compile_s is not None:
            row["compile_s"] = compile_s
        results.append(row | kw)

    # ---- reference: batched NumPy
    t_np, ref = _best(lambda: numpy_da(z, c, w_orc, T, stride, lr, lam), repeats)
    add("numpy", "batched np.matmul over seeds", t_np)

    # ---- PyTorch eager
    torch_status = "not installed"
    if _torch_available():
        torch_status = "ok"
        out = torch_da(z, c, w_orc, T, stride, lr, lam)
        check("torch", out)
        t, _ = _best(lambda: torch_da(z, c, w_orc, T, stride, lr, lam), repeats)
        add("torch", "eager, batched torch.bmm", t)

    zj, cj, oj = jnp.asarray(z), jnp.asarray(c), jnp.asarray(w_orc, jnp.float32)
    w0 = jnp.zeros((S, d), jnp.float32)
    lrj, lamj = jnp.float32(lr), jnp.float32(lam)
    single = _one_seed(T, stride)
    one_dev = jax.devices()[:1]

    # ---- per-seed Python loop of jitted JAX
    one = jax.jit(single)
    t0 = time.perf_counter()
    jax.block_until_ready(one(z[0], c[0], w_orc[0], np.zeros(d, np.float32), lr, lam))
    t_compile = time.perf_counter() - t0
    per_seed = [(z[s], c[s], w_orc[s].astype(np.float32)) for s in range(S)]
    zero = np.zeros(d, np.float32)

    def loop():
        outs = [one(a, b, o, zero, lr, lam) for a, b, o in per_seed]
        return jax.block_until_ready(
            (jnp.stack([o[0] for o in outs]), jnp.stack([o[1] for o in outs]))
        )

    check("jax_loop", loop())
    t, _ = _best(loop, repeats)
    add("jax_loop", "Python loop over seeds of a jitted scan", t, t_compile)

    # ---- jit(vmap(scan)) and seed-blocked variants
    args = (zj, cj, oj, w0, lrj, lamj)
    in_axes = (0, 0, 0, 0, None, None)
    variants = [("jax_vmap", "jit(vmap(scan))", single, None)]
    for b in cfg["blocks"]:
        variants.append(("jax_blocked", f"lax.map over blocks of {b} of vmap(scan)", single, b))
    for b in cfg["blocks"]:
        variants.append(
            ("jax_blocked_lanes", f"blocks of {b}, data as (d, n)", _one_seed_lanes(T, stride), b)
        )
    for b in cfg["blocks"]:
        variants.append(
            (
                "jax_blocked_reduce",
                f"blocks of {b}, matvecs as multiply+sum",
                _one_seed(T, stride, reduce=True),
                b,
            )
        )
    for impl, layout, fn, chunk in variants:
        swept = aj.make_sweep(
            fn, chunk_size=chunk, in_axes=in_axes, devices=one_dev, compiler_options=_narrow()
        )
        tc, tw, out = _timed_jax(swept, args, repeats)
        check(f"{impl}_{chunk}", out)
        add(impl, layout, tw, tc, chunk_size=chunk)

    # ---- the library path: sweep(run_rule(simultaneous_da)); the shared-data NumPy
    # reference is computed (and timed) here so that every library row can be checked
    rng = np.random.default_rng(1)
    w0_shared = rng.standard_normal((S, d), dtype=np.float32)
    z1, c1 = z[0], c[0]
    o1 = np.broadcast_to(w_orc[0], (S, d))
    t_np_g, ref_shared = _best(
        lambda: numpy_gemm(z1, c1, o1, T, stride, lr, lam, w0_shared), repeats
    )
    cpu_np_g = _CPU.pop("last")
    refs = {"w_orc": w_orc, "w0_shared": w0_shared, "per_seed": ref, "shared": ref_shared}
    ds = aj.Dataset(
        x=jnp.asarray(data["x"]),
        y=jnp.asarray(data["y"]),
        forget=jnp.asarray(data["forget"]),
        weight=jnp.asarray(data["weight"]),
    )
    swept = aj.make_sweep(
        _engine(d, T, stride, lam),
        chunk_size=None,
        in_axes=(0, 0, None),
        devices=one_dev,
        compiler_options=_narrow(),
    )
    eargs = (ds, oj, lrj)
    tc, tw, out = _timed_jax(swept, eargs, repeats)
    check("ascentjax_None", out)
    add("ascentjax", "sweep(run_rule), chunk=None, 256-bit, 1 dev", tw, tc, chunk_size=None)
    jax.block_until_ready(swept(*eargs))  # a different step size reuses the compiled sweep
    before = swept._cache_size()
    jax.block_until_ready(swept(ds, oj, jnp.float32(0.5 * lr)))
    recompiles = swept._cache_size() - before
    library = _library_rows(cfg, data, refs, repeats)
    all_cores, all_cores_status = _all_cores_rows(cfg, data, refs, repeats)
    for row in library + all_cores:
        agreement[f"{row['impl']}_{row['layout']}"] = row["rel_err_vs_numpy"]
    results += [r for r in library + all_cores if r["kind"] == "per_seed"]

    # ---- the library as a user calls it: sweep(fn, data), nothing else
    dfn = _default_fn(d, T, stride, lam, lr)
    first, tw, out = _timed_default(dfn, (ds, oj), repeats)
    check("default", out)
    add("default", f"sweep(fn, data): {_describe_defaults(dfn, (ds, oj))}", tw, first)

    # ---- shared data set: seeds differ in their initial weights
    shared = []
    sargs = (jnp.asarray(z1), jnp.asarray(c1), jnp.asarray(o1, jnp.float32))
    sargs += (jnp.asarray(w0_shared), lrj, lamj)
    vm = aj.make_sweep(
        single,
        chunk_size=None,
        in_axes=(None, None, 0, 0, None, None),
        devices=one_dev,
        compiler_options=_narrow(),
    )
    tc, tw, out = _timed_jax(vm, sargs, repeats)
    ref = ref_shared
    check("jax_vmap_shared", out)
    shared.append({"impl": "jax_vmap_shared", "layout": "vmap over seeds, data shared"})
    shared[-1] |= {"warm_s": tw, "compile_s": tc, "loadavg_1min": loadavg()}
    shared[-1]["cpu_s_per_call"] = _CPU.pop("last", None)
    shared.append(
        {"impl": "numpy_gemm", "layout": "W (d, S), two GEMMs per step", "warm_s": t_np_g}
    )
    shared[-1]["cpu_s_per_call"] = cpu_np_g
    shared[-1]["loadavg_1min"] = loadavg()
    shared += [r for r in library + all_cores if r["kind"] == "shared"]
    sfn = _default_shared_fn(T, stride, lam, lr, w_orc[0])
    sh_args = (jnp.asarray(w0_shared), jax.tree_util.tree_map(lambda a: a[0], ds))
    sh_axes = (0, None)
    first, tw, out = _timed_default(sfn, sh_args, repeats, in_axes=sh_axes)
    ref = ref_shared
    check("default_shared", out)
    layout = f"sweep(fn, w0, data, in_axes): {_describe_defaults(sfn, sh_args, sh_axes)}"
    shared.append({"impl": "default_shared", "layout": layout, "warm_s": tw, "compile_s": first})
    shared[-1] |= {"loadavg_1min": loadavg(), "cpu_s_per_call": _CPU.pop("last", None)}
    tc, tw, out = _timed_jax(_gemm(T, stride), sargs, repeats)
    check("jax_gemm", out)
    shared.append({"impl": "jax_gemm", "layout": "W (d, S), two GEMMs per step"})
    shared[-1] |= {"warm_s": tw, "compile_s": tc, "loadavg_1min": loadavg()}
    shared[-1]["cpu_s_per_call"] = _CPU.pop("last", None)
    gb = cfg["gemm_block"]
    if S % gb == 0 and gb < S:
        tc, tw, out = _timed_jax(_gemm_blocked(T, stride, S, gb), sargs, repeats)
        check("jax_gemm_blocked", out)
        shared.append({"impl": "jax_gemm_blocked", "layout": f"GEMMs on column blocks of {gb}"})
        shared[-1] |= {"warm_s": tw, "compile_s": tc, "loadavg_1min": loadavg()}
        shared[-1]["cpu_s_per_call"] = _CPU.pop("last", None)

    peaks = machine_peaks(quick)
    sigmoids = float(S * n * T)  # one logistic-gradient sigmoid per sample, seed and step
    for r in results:
        r["roofline"] = roofline(flops, bytes_once, r["warm_s"], peaks, sigmoids)
        r["speedup_vs_numpy"] = t_np / r["warm_s"]
    for r in shared:
        r["roofline"] = roofline(flops, 4.0 * n * (d + 1), r["warm_s"], peaks, sigmoids)
        r["speedup_vs_numpy"] = t_np / r["warm_s"]
        r["speedup_vs_numpy_gemm"] = t_np_g / r["warm_s"]
    best = min((r for r in results if r["impl"] != "numpy"), key=lambda r: r["warm_s"])
    default = next(r for r in results if r["impl"] == "default")
    best_lib = min((r for r in results if r["impl"] == "ascentjax"), key=lambda r: r["warm_s"])
    best_shared = min(
        (r for r in shared if r["impl"] == "ascentjax_shared"), key=lambda r: r["warm_s"]
    )
    targets = {
        "per_seed_s": TARGET_PER_SEED_S,
        "shared_s": TARGET_SHARED_S,
        "fraction_of_bound": TARGET_FRACTION,
        # the targets are for the full-size workload; a --quick run does not judge them
        "per_seed_met": None if quick else best_lib["warm_s"] <= TARGET_PER_SEED_S,
        "shared_met": None if quick else best_shared["warm_s"] <= TARGET_SHARED_S,
        "fraction_flop_bound": best_lib["roofline"]["fraction_of_bound"],
        "fraction_flop_sigmoid_bound": best_lib["roofline"]["fraction_of_bound_with_sigmoid"],
        "default_vs_best_library": default["warm_s"] / best_lib["warm_s"],
        "default_vs_best_max": TARGET_DEFAULT_VS_BEST,
        "default_speedup_vs_numpy": default["speedup_vs_numpy"],
        "default_speedup_min": TARGET_DEFAULT_VS_NUMPY,
        "default_met": None
        if quick
        else default["warm_s"] <= TARGET_DEFAULT_VS_BEST * best_lib["warm_s"]
        and default["speedup_vs_numpy"] >= TARGET_DEFAULT_VS_NUMPY,
    }
    return {
        "workload": "da_compare",
        "quick": quick,
        "config": {k: cfg[k] for k in ("S", "n", "d", "T", "stride", "lr", "lam")}
        | {"dtype": "float32", "loss": "logistic", "repeats": repeats},
        "torch": torch_status,
        "agreement_rel_err": agreement,
        "agreement_rtol": RTOL,
        "oracle_grad_check": "batched float64 Newton, 30 iterations",
        "results": results,
        "shared_data_results": shared,
        "best": {"impl": best["impl"], "layout": best["layout"], "warm_s": best["warm_s"]},
        "best_ascentjax": {"layout": best_lib["layout"], "warm_s": best_lib["warm_s"]},
        "default": {"layout": default["layout"], "warm_s": default["warm_s"]},
        "best_ascentjax_shared": {
            "layout": best_shared["layout"],
            "warm_s": best_shared["warm_s"],
        },
        "targets": targets,
        "all_cores": all_cores_status,
        "recompiles_on_new_lr": recompiles,
        "gflop": flops / 1e9,
        "bytes_compulsory": bytes_once,
        "bytes_if_streamed_every_step": bytes_stream,
        "streaming_bound_s": bytes_stream / (peaks["copy_gbps"] * 1e9),
        "peaks": peaks,
        "machine": machine_info(),
    }


def summary_lines(record: dict) -> list[str]:
    """A readable table of one record (lines of at most 119 characters)."""
    cfg = record["config"]
    pk = record["peaks"]
    lines = [
        f"da_compare  S={cfg['S']} n={cfg['n']} d={cfg['d']} T={cfg['T']} float32 logistic, "
        f"{record['gflop']:.2f} GFLOP; peaks: matmul {pk['peak_gflops']:.0f} GFLOP/s, "
        f"copy {pk['copy_gbps']:.1f} GB/s; torch: {record['torch']}",
        f"sigmoid rate {pk['sigmoid_gevals']:.2f} G/s; %bound: of the flop bound "
        f"{record['results'][0]['roofline']['bound_s']:.3f} s / of the flop+sigmoid bound "
        f"{record['results'][0]['roofline']['bound_with_sigmoid_s']:.3f} s; "
        "x numpy: speed-up over batched NumPy",
    ]
    lines = wrap_lines(lines)
    lines.append(
        f"{'impl':<19} {'layout':<44} {'compile':>7} {'warm s':>7} {'x numpy':>7} "
        f"{'GFLOP/s':>7} {'% bound':>7} {'% +sig':>6} {'cpu s':>6}"
    )
    rows = record["results"] + record["shared_data_results"]
    for i, r in enumerate(rows):
        if i == len(record["results"]):
            lines.append("-- one data set shared by all seeds (x np = vs per-seed-data numpy):")
        comp = f"{r['compile_s']:.2f}" if "compile_s" in r else "-"
        rf = r["roofline"]
        cpu = "-" if r.get("cpu_s_per_call") is None else f"{r['cpu_s_per_call']:.3f}"
        lines.append(
            f"{r['impl']:<19} {r['layout'][:44]:<44} {comp:>7} {r['warm_s']:>7.3f} "
            f"{r['speedup_vs_numpy']:>7.1f} {rf['achieved_gflops']:>7.1f} "
            f"{100 * rf['fraction_of_bound']:>6.1f}% "
            f"{100 * rf['fraction_of_bound_with_sigmoid']:>5.1f}% {cpu:>6}"
        )
    loads = [r["loadavg_1min"] for r in rows if r.get("loadavg_1min") is not None]
    tail = [
        f"load average (1 min) during the rows: {min(loads):.1f} to {max(loads):.1f}"
        if loads
        else "load average: not available",
        f"max relative disagreement {max(record['agreement_rel_err'].values()):.1e} "
        f"(tolerance {record['agreement_rtol']:g}); recompiles on a new step size: "
        f"{record['recompiles_on_new_lr']}; all cores: {record['all_cores']}",
    ]
    tg = record["targets"]
    yes = {True: "met", False: "NOT met", None: "not judged (--quick)"}
    tail += [
        f"target per-seed <= {tg['per_seed_s']} s: {yes[tg['per_seed_met']]} "
        f"(best library row {record['best_ascentjax']['warm_s']:.3f} s: "
        f"{record['best_ascentjax']['layout']})",
        f"target shared <= {tg['shared_s']} s: {yes[tg['shared_met']]} "
        f"({record['best_ascentjax_shared']['warm_s']:.3f} s: "
        f"{record['best_ascentjax_shared']['layout']})",
        f"best library row: {100 * tg['fraction_flop_bound']:.0f}% of the flop bound, "
        f"{100 * tg['fraction_flop_sigmoid_bound']:.0f}% of the flop+sigmoid bound "
        f"(target {100 * tg['fraction_of_bound']:.0f}%)",
        f"default sweep(fn, data) {record['default']['warm_s']:.3f} s: "
        f"{tg['default_vs_best_library']:.2f}x the best library row (target <= "
        f"{tg['default_vs_best_max']}), {tg['default_speedup_vs_numpy']:.1f}x batched NumPy "
        f"(target >= {tg['default_speedup_min']:g}): {yes[tg['default_met']]}",
    ]
    return lines + wrap_lines(tail)
