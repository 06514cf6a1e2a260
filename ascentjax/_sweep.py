r"""Sweeps: ``vmap`` over a leading axis, compiled once, chunked and sharded.

:func:`sweep` maps a single-configuration function (one seed, one grid point)
over the leading axis of its arguments. It is the batching layer of every study:

* **vmap + jit**: the function is vectorised with ``jax.vmap`` and compiled once
  per input shape (the compiled function is cached per ``fn``, so define ``fn``
  once rather than as a fresh ``lambda`` in a loop).
* **chunking** (``chunk_size``): the batch is split into chunks of ``chunk_size``
  rows, processed one after another with ``lax.map`` over a ``vmap``-ped ``fn``;
  the last chunk is padded (with copies of the last row) and the padding
  stripped. Memory is bounded by one chunk's working set, and on CPU small
  chunks (64–256 seeds) keep a chunk's data in cache, which is faster than one
  big ``vmap`` (see ``benchmarks/``).
* **sharding** (``devices``): with more than one device the batch is split
  across a one-axis :class:`jax.sharding.Mesh` with ``jax.shard_map``; each
  device runs the (chunked) vmap on its share. The result equals the
  single-device result. On a CPU, JAX shows one device by default and a
  chunked sweep then runs on one core; start Python with
  ``XLA_FLAGS=--xla_force_host_platform_device_count=<cores>`` to get one device
  per core and a sweep that uses them all (measured 1.9x on 2 cores,
  ``docs/benchmarks.md``).
* **compiler options** (``compiler_options``): passed to ``jax.jit``, e.g.
  ``{"xla_cpu_prefer_vector_width": 512}`` for 512-bit vectors on AVX-512 CPUs
  (JAX's default is 256; measured 10-20% faster on this project's sweeps).

Precision: sweeps run in the dtype of their inputs; the generators and rules
default to JAX's default float, float32 unless x64 is enabled, which is the
fast path on accelerators. Theory checks should pass float64 inputs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

__all__ = ["make_sweep", "sweep"]

_AXIS = "sweep"


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
    n = _leading_size(args, in_axes)
    if chunk is None or chunk >= n:
        return vfn(*args)
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
    chunk_size: int | None,
    devices: tuple,
    in_axes: tuple | None,
    compiler_options: tuple = (),
) -> Callable:
    def run(*args: Any) -> Any:
        axes = (0,) * len(args) if in_axes is None else in_axes
        if len(axes) != len(args):
            raise ValueError(f"in_axes has {len(axes)} entries for {len(args)} arguments")
        vfn = jax.vmap(fn, in_axes=axes)
        n = _leading_size(args, axes)
        ndev = len(devices)
        if ndev <= 1:
            return _chunked(vfn, args, axes, chunk_size)
        per_dev = -(-n // ndev)
        if chunk_size is not None and chunk_size < per_dev:
            per_dev = -(-per_dev // chunk_size) * chunk_size
        padded = _pad(args, axes, n, per_dev * ndev)
        mesh = Mesh(np.array(devices), (_AXIS,))
        specs = tuple(PartitionSpec() if ax is None else PartitionSpec(_AXIS) for ax in axes)
        local = jax.shard_map(
            lambda *a: _chunked(vfn, a, axes, chunk_size),
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

    return jax.jit(run, compiler_options=dict(compiler_options) or None)


def _normalise(
    chunk_size: int | None,
    devices: Sequence[jax.Device] | None,
    in_axes: Any,
    compiler_options: Mapping[str, Any] | None = None,
) -> tuple[int | None, tuple, tuple | None, tuple]:
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be None or a Python int >= 1, got {chunk_size!r}")
    devs = tuple(jax.devices()) if devices is None else tuple(devices)
    if not devs:
        raise ValueError("devices must name at least one device")
    if in_axes is not None:
        in_axes = tuple(in_axes)
        if any(ax not in (0, None) for ax in in_axes):
            raise ValueError(f"in_axes entries must be 0 or None, got {in_axes!r}")
    if compiler_options is None:
        options: tuple = ()
    elif isinstance(compiler_options, Mapping) and all(
        isinstance(k, str) for k in compiler_options
    ):
        options = tuple(sorted(compiler_options.items()))
    else:
        raise TypeError(
            "compiler_options must be None or a mapping from XLA option names (str) "
            f"to values, got {compiler_options!r}"
        )
    return chunk_size, devs, in_axes, options


def make_sweep(
    fn: Callable[..., Any],
    *,
    chunk_size: int | None = None,
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
        chunk_size: rows per chunk (``None``: one ``vmap`` over everything).
        devices: devices to shard over (default: all visible devices).
        in_axes: per positional argument ``0`` (swept along its leading axis) or
            ``None`` (shared by every row); default all ``0``.
        compiler_options: XLA compile options passed to ``jax.jit`` (e.g.
            ``{"xla_cpu_prefer_vector_width": 512}``); an unknown name raises
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
    chunk_size: int | None = None,
    devices: Sequence[jax.Device] | None = None,
    in_axes: Sequence[int | None] | None = None,
    compiler_options: Mapping[str, Any] | None = None,
) -> Any:
    r"""Evaluate ``fn`` on every row of the leading axis of ``args`` (a compiled ``vmap``).

    .. math:: \text{sweep}(f, a, b)[k] = f(a[k], b[k]), \qquad k = 0, \dots, n-1,

    for every leaf of every argument pytree. Equivalent to
    ``jax.jit(jax.vmap(fn))(*args)``, but

    * compiled once per input shape (cached per ``fn``; reuse the same ``fn``
      object across calls, a fresh ``lambda`` each call recompiles);
    * with ``chunk_size``, evaluated as ``lax.map`` over chunks of a vmapped
      ``fn`` (the last chunk padded and stripped), which bounds memory and, on
      CPU, keeps each chunk's data in cache;
    * with more than one device (``devices``, default all visible ones), split
      across a device mesh with ``jax.shard_map``; the result is the same.

    Sweeps run in the dtype of their inputs (float32 by default, the fast path;
    pass float64 arrays after enabling x64 for theory checks). ``fn`` must be a
    pure JAX function of one configuration. Randomness: sweep over an array of
    keys, e.g. ``jax.random.split(key, n)``.

    Args:
        fn: function of one configuration, ``fn(*rows) -> pytree``.
        *args: pytrees whose leaves share a leading axis of size ``n``
            (unless marked ``None`` in ``in_axes``).
        chunk_size: rows per chunk, or ``None`` for one vmap over all rows.
        devices: devices to shard over (default ``jax.devices()``).
        in_axes: per positional argument ``0`` (swept) or ``None`` (shared).
        compiler_options: XLA compile options passed to ``jax.jit``.

    Returns:
        ``fn``'s outputs stacked along a new leading axis of size ``n``.

    Raises:
        ValueError: for mismatched leading sizes, scalars among swept
            arguments, an empty batch, or a bad ``chunk_size``/``in_axes``.
        TypeError: if ``compiler_options`` is not a mapping with string keys.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> import ascentjax as aj
        >>> def final_margin(lr):
        ...     data = aj.one_coordinate_data(5, 0.5, n_retain=100, n_forget=10)
        ...     rule = aj.retrain(lr, lam=0.01)
        ...     return aj.run_rule(rule, jnp.zeros(1), data, steps=1000).final[0]
        >>> w = aj.sweep(final_margin, jnp.array([0.5, 1.0, 2.0]))
        >>> [round(float(v), 3) for v in w]  # all reach W0(5)
        [1.327, 1.327, 1.327]
    """
    return make_sweep(
        fn,
        chunk_size=chunk_size,
        devices=devices,
        in_axes=in_axes,
        compiler_options=compiler_options,
    )(*args)
