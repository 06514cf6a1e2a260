r"""Sweeps: ``vmap`` over a leading axis, compiled once, chunked and sharded.

:func:`sweep` maps a single-configuration function (one seed, one grid point)
over the leading axis of its arguments. It is the batching layer of every study,
and its defaults are the fast configuration:

* **vmap + jit**: the function is vectorised with ``jax.vmap`` and compiled once
  per input shape (the compiled function is cached per ``fn``, so define ``fn``
  once rather than as a fresh ``lambda`` in a loop).
* **chunking** (``chunk_size``, default ``"auto"``): the batch is split into
  chunks, processed one after another with ``lax.map`` over a ``vmap``-ped
  ``fn``; the last chunk is padded (with copies of the last row) and the padding
  stripped. Memory is bounded by one chunk's working set, and on CPU a chunk
  whose data fits in the core's L2 cache is faster than one big ``vmap``. The
  automatic size is :func:`auto_chunk_size`; an int fixes it, ``None`` turns
  chunking off.
* **sharding** (``devices``, default all devices): with more than one device the
  batch is split across a one-axis :class:`jax.sharding.Mesh` with
  ``jax.shard_map``; each device runs the (chunked) vmap on its share. The result
  equals the single-device result. Under ``jax.distributed.initialize()`` the
  mesh spans every process's devices (see :func:`sweep`). On a CPU, JAX shows one
  device unless ``XLA_FLAGS=--xla_force_host_platform_device_count=<cores>`` is
  set before it starts; the studies and benchmarks set it themselves
  (``--devices``).
* **compiler options** (``compiler_options``): passed to ``jax.jit``. On CPUs with
  AVX-512 the default adds ``{"xla_cpu_prefer_vector_width": 512}`` (512-bit
  vectors; JAX's own default is 256, measured 10-20% slower on this project's
  sweeps); pass ``{"xla_cpu_prefer_vector_width": 256}`` to undo it.

Precision: sweeps run in the dtype of their inputs; the generators and rules
default to JAX's default float, float32 unless x64 is enabled, which is the
fast path on accelerators. Theory checks should pass float64 inputs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import ClosedJaxpr as _ClosedJaxpr
from jax.extend.core import Jaxpr as _Jaxpr
from jax.extend.core import Literal as _JaxprLiteral
from jax.extend.core import jaxpr_as_fun as _jaxpr_as_fun
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["auto_chunk_size", "make_sweep", "sweep"]

_AXIS = "sweep"
_WIDE = {"xla_cpu_prefer_vector_width": 512}
_L2_DEFAULT = 1 << 20  # bytes; when the cache size cannot be read
_ACCEL_DEFAULT = 16 << 30  # bytes of accelerator memory assumed when JAX does not report it
_ACCEL_FRACTION = 16  # a chunk's estimated working set <= 1/16 of accelerator memory


# ----------------------------------------------------------------------------- machine facts
@functools.lru_cache(maxsize=1)
def _cpu_has_avx512() -> bool:
    """Whether the CPU reports AVX-512F (``/proc/cpuinfo``; ``False`` where unreadable)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return "avx512f" in line.split(":", 1)[-1].split()
    return False


@functools.lru_cache(maxsize=1)
def _l2_bytes() -> int:
    """Per-core L2 cache size from sysfs (Linux), else 1 MiB."""
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    try:
        for index in sorted(base.glob("index*")):
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            if level == "2" and kind in ("Unified", "Data"):
                text = (index / "size").read_text().strip().upper()
                scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
                return int(text.rstrip("KMG")) * scale
    except (OSError, ValueError):
        pass
    return _L2_DEFAULT


def _accelerator_bytes(device: jax.Device) -> int:
    try:
        stats = device.memory_stats() or {}
    except Exception:  # noqa: BLE001 - some backends do not implement it
        stats = {}
    return int(stats.get("bytes_limit", _ACCEL_DEFAULT))


# ----------------------------------------------------------------------------- chunk choice
def _nbytes(aval: Any) -> int:
    shape = getattr(aval, "shape", ())
    dtype = getattr(aval, "dtype", None)
    if dtype is None:
        return 0
    if jax.dtypes.issubdtype(dtype, jax.dtypes.extended):
        item = 8  # PRNG keys: two uint32 words
    else:
        item = np.dtype(dtype).itemsize
    return math.prod(shape) * item


def _row_specs(args: tuple, in_axes: tuple) -> tuple:
    def spec(x: Any, swept: bool) -> jax.ShapeDtypeStruct:
        shape = tuple(np.shape(x))[1:] if swept else tuple(np.shape(x))
        dtype = getattr(x, "dtype", None)
        weak = isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)
        if dtype is None:
            dtype = jnp.result_type(x)
        elif hasattr(x, "aval"):
            weak = bool(getattr(x.aval, "weak_type", False))
        return jax.ShapeDtypeStruct(shape, dtype, weak_type=weak)

    return tuple(
        jax.tree_util.tree_map(lambda x, s=ax is not None: spec(x, s), a)
        for a, ax in zip(args, in_axes)
    )


def _has_subcomputation(eqn: Any) -> bool:
    """Whether a jaxpr equation holds a sub-computation (a loop, a call, a branch)."""
    for value in eqn.params.values():
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(v, (_ClosedJaxpr, _Jaxpr)):
                return True
    return False


def _row_bytes(fn: Callable, args: tuple, in_axes: tuple) -> int:
    """Estimated bytes one row keeps live while ``fn`` runs (see :func:`auto_chunk_size`).

    ``fn`` is traced on one row; a value counts only if it depends on a swept
    argument (shared arguments, and what is computed from them alone, are not
    copied per row). The estimate is the larger of the row's swept inputs and
    the largest top-level loop (or call) of ``fn``: its per-row operands and
    results, i.e. the data a loop over steps reads every step; without loops,
    the largest top-level operation.
    """
    specs = _row_specs(args, in_axes)
    flags = [ax is not None for a, ax in zip(specs, in_axes) for _ in jax.tree_util.tree_leaves(a)]
    leaves = [leaf for a in specs for leaf in jax.tree_util.tree_leaves(a)]
    swept_in = sum(_nbytes(leaf) for leaf, f in zip(leaves, flags) if f)
    try:
        jaxpr = jax.make_jaxpr(fn)(*specs).jaxpr
    except Exception:  # noqa: BLE001 - an estimate only: fall back to the inputs
        return max(swept_in, 1)
    live = {v for v, f in zip(jaxpr.invars, flags) if f}
    loops, ops = 0, 0
    for eqn in jaxpr.eqns:
        ins = [v for v in eqn.invars if not isinstance(v, _JaxprLiteral) and v in live]
        if ins:
            live.update(eqn.outvars)
            size = sum(_nbytes(v.aval) for v in ins) + sum(_nbytes(v.aval) for v in eqn.outvars)
            ops = max(ops, size)
            if _has_subcomputation(eqn):
                loops = max(loops, size)
    return max(swept_in, loops or ops, 1)


def _balanced(rows: int, largest: int) -> int | None:
    """The chunk size for ``rows`` rows and chunks of at most ``largest`` rows.

    ``None`` (no chunking) when one chunk holds every row; otherwise the rows are
    split into ``ceil(rows / largest)`` nearly equal chunks (rounded up to a
    multiple of 8 when that keeps them within ``largest``), so padding wastes at
    most a few rows per chunk instead of up to a whole chunk.
    """
    largest = max(1, largest)
    if largest >= rows:
        return None
    n_chunks = -(-rows // largest)
    chunk = -(-rows // n_chunks)
    rounded = -(-chunk // 8) * 8
    return rounded if rounded <= largest else chunk


def _auto_chunk(fn: Callable, args: tuple, in_axes: tuple, rows: int, device: Any) -> int | None:
    budget = _l2_bytes() if device.platform == "cpu" else _accelerator_bytes(device)
    if device.platform != "cpu":
        budget //= _ACCEL_FRACTION
    largest = budget // _row_bytes(fn, args, in_axes)
    if device.platform == "cpu" and largest > 1:
        largest = 1 << (largest.bit_length() - 1)  # a power of two
    return _balanced(rows, largest)


def auto_chunk_size(
    fn: Callable[..., Any],
    *args: Any,
    devices: Sequence[jax.Device] | None = None,
    in_axes: Sequence[int | None] | None = None,
) -> int | None:
    r"""The chunk size :func:`sweep` chooses with ``chunk_size="auto"`` (the default).

    The rule, from the input sizes and the device:

    1. trace ``fn`` on one row and estimate the bytes :math:`b` a row keeps live:
       the larger of its swept inputs and the largest top-level loop of ``fn``
       (its operands plus results, e.g. the loop over steps with the row's data
       set, which it reads every step; without loops, the largest top-level
       operation). Only values that depend on a swept argument count: shared
       arguments (``in_axes`` ``None``) and what is computed from them alone are
       not copied per row;
    2. a budget :math:`B`: on CPU the per-core L2 cache (read from
       ``/sys/devices/system/cpu``, 1 MiB if unknown), so that a chunk's data
       stays in cache for all steps; on GPU/TPU 1/16 of the device memory
       (``memory_stats()["bytes_limit"]``, 16 GiB if unknown), which only
       bounds memory, since accelerators want the largest batch;
    3. at most :math:`c = \lfloor B / b \rfloor` rows per chunk (on CPU rounded
       down to a power of two); ``None`` (one ``vmap``, no chunking) when one
       chunk holds a device's whole share of the rows, otherwise that share is
       split into equal chunks of at most :math:`c` rows (a multiple of 8 where
       possible), so padding wastes only a few rows.

    Pass an int ``chunk_size`` to :func:`sweep` to override the choice, or
    ``None`` to turn chunking off. The choice never changes results beyond
    float rounding. On the reference DA sweep (128 samples, 8 features, float32:
    about 5 KB per seed) and a 1 MiB L2 it is 128 seeds; for seeds sharing one
    data set (only their weights swept) it is no chunking.

    Args:
        fn: the single-configuration function.
        *args: the arguments as they would be passed to :func:`sweep`.
        devices: devices the sweep would shard over (default all devices).
        in_axes: as for :func:`sweep`.

    Returns:
        Rows per chunk, or ``None`` for one ``vmap`` over each device's share.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> def f(x):
        ...     return jnp.sum(x**2)
        >>> aj.auto_chunk_size(f, jnp.ones((8, 3))) is None  # tiny rows: no chunking
        True
    """
    _, devs, axes, _ = _normalise(None, devices, in_axes)
    axes = (0,) * len(args) if axes is None else axes
    if len(axes) != len(args):
        raise ValueError(f"in_axes has {len(axes)} entries for {len(args)} arguments")
    n = _leading_size(args, axes)
    return _auto_chunk(fn, args, axes, -(-n // len(devs)), devs[0])


# ----------------------------------------------------------------------------- batching
def _leading_size(args: tuple, in_axes: tuple) -> int:
    sizes = set()
    for a, ax in zip(args, in_axes):
        if ax is None:
            continue
        for leaf in jax.tree_util.tree_leaves(a):
            shape = np.shape(leaf)
            if len(shape) == 0:
                raise ValueError("every swept argument needs a leading (batch) axis; got a scalar")
            sizes.add(shape[0])
    if not sizes:
        raise ValueError("sweep needs at least one argument with a leading axis (in_axes=0)")
    if len(sizes) > 1:
        raise ValueError(
            f"all swept arguments must share the leading axis size, got {sorted(sizes)}"
        )
    n = sizes.pop()
    if n == 0:
        raise ValueError("the leading (batch) axis of the swept arguments is empty")
    return n


def _pad(args: tuple, in_axes: tuple, n: int, total: int) -> tuple:
    if total == n:
        return args
    idx = jnp.minimum(jnp.arange(total), n - 1)
    return tuple(
        a if ax is None else jax.tree_util.tree_map(lambda x: x[idx], a)
        for a, ax in zip(args, in_axes)
    )


def _chunked(vfn: Callable, args: tuple, in_axes: tuple, chunk: int | None) -> Any:
    """``vfn`` over chunks of ``chunk`` rows, one after another, without copying the inputs.

    Chunk ``i`` reads rows ``[s, s + chunk)`` with ``s = min(i * chunk, n - chunk)``
    (a dynamic slice of the inputs) and writes its results into the output
    buffer at the same rows; the last chunk overlaps the one before instead of
    being padded, so neither inputs nor outputs are copied and the temporaries
    are one chunk's, whatever ``n``.
    """
    n = _leading_size(args, in_axes)
    if chunk is None or chunk >= n:
        return vfn(*args)

    def rows(start: Any) -> tuple:
        return tuple(
            a
            if ax is None
            else jax.tree_util.tree_map(lambda x: jax.lax.dynamic_slice_in_dim(x, start, chunk), a)
            for a, ax in zip(args, in_axes)
        )

    # trace vfn once on a chunk: its jaxpr gives the output shapes and is the loop body
    closed, out_shapes = jax.make_jaxpr(vfn, return_shape=True)(*rows(0))
    if any(
        jax.dtypes.issubdtype(s.dtype, jax.dtypes.extended)
        for s in jax.tree_util.tree_leaves(out_shapes)
    ):
        return _chunked_padded(vfn, args, in_axes, chunk)
    run_chunk = _jaxpr_as_fun(closed)
    out_tree = jax.tree_util.tree_structure(out_shapes)
    init = jax.tree_util.tree_map(lambda s: jnp.zeros((n,) + s.shape[1:], s.dtype), out_shapes)

    def body(i: Any, acc: Any) -> Any:
        start = jnp.minimum(i * chunk, n - chunk)
        out = jax.tree_util.tree_unflatten(
            out_tree, run_chunk(*jax.tree_util.tree_leaves(rows(start)))
        )
        return jax.tree_util.tree_map(
            lambda buf, o: jax.lax.dynamic_update_slice_in_dim(buf, o, start, 0), acc, out
        )

    return jax.lax.fori_loop(0, -(-n // chunk), body, init)


def _chunked_padded(vfn: Callable, args: tuple, in_axes: tuple, chunk: int) -> Any:
    """``lax.map`` over padded chunks (for outputs such as PRNG keys that cannot be zeroed)."""
    n = _leading_size(args, in_axes)
    n_chunks = -(-n // chunk)
    args = _pad(args, in_axes, n, n_chunks * chunk)
    batched = tuple(
        None
        if ax is None
        else jax.tree_util.tree_map(lambda x: x.reshape((n_chunks, chunk) + x.shape[1:]), a)
        for a, ax in zip(args, in_axes)
    )

    def body(chunk_args: tuple) -> Any:
        full = tuple(a if ax is None else c for a, c, ax in zip(args, chunk_args, in_axes))
        return vfn(*full)

    out = jax.lax.map(body, batched)
    return jax.tree_util.tree_map(lambda x: x.reshape((n_chunks * chunk,) + x.shape[2:])[:n], out)


@functools.lru_cache(maxsize=256)
def _build(
    fn: Callable,
    chunk_size: int | None | str,
    devices: tuple,
    in_axes: tuple | None,
    compiler_options: tuple = (),
) -> Callable:
    ndev = len(devices)

    def run(*args: Any) -> Any:
        axes = (0,) * len(args) if in_axes is None else in_axes
        if len(axes) != len(args):
            raise ValueError(f"in_axes has {len(axes)} entries for {len(args)} arguments")
        vfn = jax.vmap(fn, in_axes=axes)
        n = _leading_size(args, axes)
        per_dev = -(-n // ndev)
        chunk = chunk_size
        if chunk == "auto":
            chunk = _auto_chunk(fn, args, axes, per_dev, devices[0])
        if ndev <= 1:
            return _chunked(vfn, args, axes, chunk)
        # pad (a copy of the inputs) only if the rows do not split evenly over devices
        padded = _pad(args, axes, n, per_dev * ndev)
        mesh = Mesh(np.array(devices), (_AXIS,))
        specs = tuple(PartitionSpec() if ax is None else PartitionSpec(_AXIS) for ax in axes)
        local = jax.shard_map(
            lambda *a: _chunked(vfn, a, axes, chunk),
            mesh=mesh,
            in_specs=specs,
            out_specs=PartitionSpec(_AXIS),
            # Rows are independent and there are no collectives. With the default
            # check_vma=True, ``jax.grad`` inside ``fn`` with respect to a value
            # created inside ``fn`` (device-invariant in shard_map's type system)
            # would have its cotangent psum-ed over the devices: silently wrong.
            check_vma=False,
        )
        out = local(*padded)
        return jax.tree_util.tree_map(lambda x: x[:n], out)

    options = dict(compiler_options) or None
    if ndev > 1 and any(d.process_index != jax.process_index() for d in devices):
        # Several processes (jax.distributed): every process passes the same full
        # inputs, taken as replicated global values; each device computes its share
        # and the result is gathered onto every device (one all-gather).
        replicated = NamedSharding(Mesh(np.array(devices), (_AXIS,)), PartitionSpec())
        return jax.jit(
            run, in_shardings=replicated, out_shardings=replicated, compiler_options=options
        )
    return jax.jit(run, compiler_options=options)


def _default_options(devs: tuple) -> dict:
    if all(d.platform == "cpu" for d in devs) and _cpu_has_avx512():
        return dict(_WIDE)
    return {}


def _normalise(
    chunk_size: int | None | str,
    devices: Sequence[jax.Device] | None,
    in_axes: Any,
    compiler_options: Mapping[str, Any] | None = None,
) -> tuple[int | None | str, tuple, tuple | None, tuple]:
    if (
        chunk_size != "auto"
        and chunk_size is not None
        and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1)
    ):
        raise ValueError(
            f"chunk_size must be 'auto', None or a Python int >= 1, got {chunk_size!r}"
        )
    devs = tuple(jax.devices()) if devices is None else tuple(devices)
    if not devs:
        raise ValueError("devices must name at least one device")
    if in_axes is not None:
        in_axes = tuple(in_axes)
        if any(ax not in (0, None) for ax in in_axes):
            raise ValueError(f"in_axes entries must be 0 or None, got {in_axes!r}")
    if compiler_options is not None and not (
        isinstance(compiler_options, Mapping) and all(isinstance(k, str) for k in compiler_options)
    ):
        raise TypeError(
            "compiler_options must be None or a mapping from XLA option names (str) "
            f"to values, got {compiler_options!r}"
        )
    options = _default_options(devs) | dict(compiler_options or {})
    return chunk_size, devs, in_axes, tuple(sorted(options.items()))


def make_sweep(
    fn: Callable[..., Any],
    *,
    chunk_size: int | None | Literal["auto"] = "auto",
    devices: Sequence[jax.Device] | None = None,
    in_axes: Sequence[int | None] | None = None,
    compiler_options: Mapping[str, Any] | None = None,
) -> Callable[..., Any]:
    r"""The compiled, chunked, sharded batch version of ``fn`` (see :func:`sweep`).

    Returns a ``jax.jit``-compiled function, so it also exposes ``.lower(...)``
    for ahead-of-time compilation (the benchmarks time compile and run apart).
    Calling :func:`make_sweep` twice with the same ``fn`` and options returns the
    same compiled function.

    Args:
        fn: the single-configuration function.
        chunk_size: rows per chunk; ``"auto"`` (default) chooses it per input
            shape with :func:`auto_chunk_size`; ``None``: one ``vmap`` over
            everything.
        devices: devices to shard over (default: all devices, of every process;
            with several processes the result is a global ``jax.Array``
            replicated on every device).
        in_axes: per positional argument ``0`` (swept along its leading axis) or
            ``None`` (shared by every row); default all ``0``.
        compiler_options: XLA compile options passed to ``jax.jit``, on top of
            the defaults (on AVX-512 CPUs ``{"xla_cpu_prefer_vector_width": 512}``;
            give the option another value to override it); an unknown name raises
            JAX's ``INVALID_ARGUMENT`` error at the first call.

    Returns:
        The batched function ``(*args) -> outputs`` with a leading batch axis.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> def f(a, b):
        ...     return a * b
        >>> g = aj.make_sweep(f, chunk_size=2, in_axes=(0, None))
        >>> g(jnp.arange(5.0), 10.0).tolist()
        [0.0, 10.0, 20.0, 30.0, 40.0]
    """
    options = _normalise(chunk_size, devices, in_axes, compiler_options)
    try:
        hash(fn)
    except TypeError:  # an unhashable callable: build uncached (compiled per call)
        return _build.__wrapped__(fn, *options)
    return _build(fn, *options)


def sweep(
    fn: Callable[..., Any],
    *args: Any,
    chunk_size: int | None | Literal["auto"] = "auto",
    devices: Sequence[jax.Device] | None = None,
    in_axes: Sequence[int | None] | None = None,
    compiler_options: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    progress_every: int | None = None,
) -> Any:
    r"""Evaluate ``fn`` on every row of the leading axis of ``args`` (a compiled ``vmap``).

    .. math:: \text{sweep}(f, a, b)[k] = f(a[k], b[k]), \qquad k = 0, \dots, n-1,

    for every leaf of every argument pytree. Equivalent to
    ``jax.jit(jax.vmap(fn))(*args)``, but

    * compiled once per input shape (cached per ``fn``; reuse the same ``fn``
      object across calls, a fresh ``lambda`` each call recompiles);
    * evaluated as ``lax.map`` over chunks of a vmapped ``fn`` (the last chunk
      padded and stripped), which bounds memory by one chunk and, on CPU, keeps
      each chunk's data in cache; the chunk size is chosen per input shape
      (:func:`auto_chunk_size`) unless given;
    * with more than one device (``devices``, default all of them), split
      across a device mesh with ``jax.shard_map``; the result is the same;
    * on AVX-512 CPUs, compiled for 512-bit vectors.

    **Several processes.** After ``jax.distributed.initialize()`` (one process
    per host, GPU or TPU host, or several local CPU processes), ``jax.devices()``
    lists every process's devices and the same call shards the rows over all of
    them. Every process runs the same program and passes the same full inputs
    (e.g. generated from the same key); each device computes its share, and the
    result is gathered onto every process: each gets the whole result as an
    ordinary array on its own first device, so the code after the sweep is
    unchanged. (:func:`make_sweep`'s compiled function returns the global
    ``jax.Array`` itself, replicated over all devices.) Pass
    ``devices=jax.local_devices()`` for an independent per-process sweep instead.

    Sweeps run in the dtype of their inputs (float32 by default, the fast path;
    pass float64 arrays after enabling x64 for theory checks). ``fn`` must be a
    pure JAX function of one configuration. Randomness: sweep over an array of
    keys, e.g. ``jax.random.split(key, n)``. Memory: the inputs and outputs of
    all rows plus the working set of one chunk per device, so at a fixed chunk
    size the peak grows with ``n`` only through the inputs and outputs.

    Args:
        fn: function of one configuration, ``fn(*rows) -> pytree``.
        *args: pytrees whose leaves share a leading axis of size ``n``
            (unless marked ``None`` in ``in_axes``).
        chunk_size: rows per chunk: ``"auto"`` (default, :func:`auto_chunk_size`),
            an int, or ``None`` for one vmap over all rows.
        devices: devices to shard over (default ``jax.devices()``, every process's).
        in_axes: per positional argument ``0`` (swept) or ``None`` (shared).
        compiler_options: XLA compile options passed to ``jax.jit`` on top of the
            defaults (see :func:`make_sweep`).
        progress: called as ``progress(done, n)`` on the host after every block of
            ``progress_every`` rows (a progress bar, a log line). The rows are then
            evaluated block by block with one compiled function (the last block padded to
            full size and stripped), so the result is the same.
        progress_every: rows per progress block (default: about 20 blocks in all);
            only with ``progress``.

    Returns:
        ``fn``'s outputs stacked along a new leading axis of size ``n``.

    Raises:
        ValueError: for mismatched leading sizes, scalars among swept
            arguments, an empty batch, a bad ``chunk_size``/``in_axes`` or a
            ``progress_every`` below 1.
        TypeError: if ``compiler_options`` is not a mapping with string keys.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> import ascentjax as aj
        >>> def final_margin(lr):
        ...     data = aj.one_coordinate_data(None, 5, 0.5, n_retain=100, n_forget=10)
        ...     rule = aj.retrain(lr, lam=0.01)
        ...     return aj.run_rule(rule, jnp.zeros(1), data, steps=1000).final[0]
        >>> w = aj.sweep(final_margin, jnp.array([0.5, 1.0, 2.0]))
        >>> [round(float(v), 3) for v in w]  # all reach W0(5)
        [1.327, 1.327, 1.327]
        >>> seen = []
        >>> w = aj.sweep(final_margin, jnp.array([0.5, 1.0, 2.0]),
        ...              progress=lambda done, n: seen.append((done, n)), progress_every=2)
        >>> seen
        [(2, 3), (3, 3)]
    """
    compiled = make_sweep(
        fn,
        chunk_size=chunk_size,
        devices=devices,
        in_axes=in_axes,
        compiler_options=compiler_options,
    )
    if progress is None:
        if progress_every is not None:
            raise ValueError("progress_every is only meaningful with a progress callback")
        out = compiled(*args)
    else:
        out = _in_blocks(compiled, args, in_axes, progress, progress_every)
    if jax.process_count() > 1:
        out = jax.tree_util.tree_map(_local_copy, out)
    return out


def _in_blocks(
    compiled: Callable[..., Any],
    args: tuple,
    in_axes: Sequence[int | None] | None,
    progress: Callable[[int, int], None],
    every: int | None,
) -> Any:
    """Evaluate ``compiled`` block by block over the swept rows, reporting progress."""
    if not callable(progress):
        raise TypeError(f"progress must be callable as progress(done, n), got {progress!r}")
    axes = tuple(in_axes) if in_axes is not None else (0,) * len(args)
    swept = [a for a, ax in zip(args, axes, strict=False) if ax is not None]
    leaves = jax.tree_util.tree_leaves(swept)
    if not leaves or any(jnp.ndim(x) == 0 for x in leaves):
        return compiled(*args)  # make_sweep raises the usual error
    n = int(jnp.shape(leaves[0])[0])
    every = max(1, -(-n // 20)) if every is None else every
    if isinstance(every, bool) or int(every) != every or every < 1:
        raise ValueError(f"progress_every must be an integer >= 1, got {every!r}")
    every = min(int(every), n)
    outs = []
    for start in range(0, n, every):
        stop = min(start + every, n)

        def block(a: Any, ax: int | None, s: int = start, e: int = stop) -> Any:
            if ax is None:
                return a

            def rows(x: Any) -> Any:
                x = x[s:e]
                if e - s < every:  # pad to a full block: the compiled function is reused
                    x = jnp.concatenate([x, jnp.repeat(x[-1:], every - (e - s), axis=0)])
                return x

            return jax.tree_util.tree_map(rows, a)

        out = compiled(*(block(a, ax) for a, ax in zip(args, axes, strict=False)))
        outs.append(jax.tree_util.tree_map(lambda x, k=stop - start: x[:k], out))
        progress(stop, n)
    return jax.tree_util.tree_map(lambda *xs: jnp.concatenate(xs), *outs)


def _local_copy(x: Any) -> Any:
    """This process's copy of a result replicated over every process's devices."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return x.addressable_data(0)
    return x
