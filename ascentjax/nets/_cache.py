"""A content-addressed on-disk cache of expensive pytrees (trained ensembles, margins).

Training the pretrained and oracle ensembles dominates a network study. :func:`cached`
stores such a result with orbax-checkpoint under ``cache_dir/<name>-<hash>``, where the
hash (:func:`content_hash`) covers *everything the result depends on* as the caller lists
it: the data arrays' bytes, the forget set, the model (its class and fields), the training
configuration and the PRNG key. Equal inputs reuse the saved result; any change gives a
new hash, hence a new path, so a stale entry is never read. Entries are written by orbax
atomically (a temporary directory renamed on completion), so an interrupted run leaves no
half-written entry under the final name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = ["cached", "content_hash"]


def _feed(h: Any, obj: Any) -> None:
    """Feed a canonical, type-tagged encoding of ``obj`` into the hash ``h``."""
    if isinstance(obj, jax.Array) and jax.dtypes.issubdtype(obj.dtype, jax.dtypes.prng_key):
        obj = np.asarray(jax.random.key_data(obj))
    if isinstance(obj, dict):
        h.update(b"dict%d" % len(obj))
        for k in sorted(obj, key=str):
            _feed(h, str(k))
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(b"seq%d" % len(obj))
        for v in obj:
            _feed(h, v)
    elif obj is None or isinstance(obj, (bool, int, float, str)):
        h.update(b"json" + json.dumps(obj).encode())
    elif isinstance(obj, (np.ndarray, np.generic, jax.Array)):
        a = np.ascontiguousarray(np.asarray(obj))
        h.update(f"array{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif hasattr(obj, "__dataclass_fields__"):  # a flax module (frozen dataclass)
        cls = type(obj)
        h.update(f"module{cls.__module__}.{cls.__qualname__}".encode())
        fields = {
            f: getattr(obj, f)
            for f in obj.__dataclass_fields__
            if f not in ("parent", "name") and not f.startswith("_")
        }
        _feed(h, fields)
    else:
        raise TypeError(
            f"content_hash cannot encode a {type(obj).__name__}; pass arrays, numbers, "
            "strings, None, flax modules, PRNG keys, or dicts/lists/tuples of them"
        )


def content_hash(config: Any) -> str:
    """A SHA-256 hex digest of ``config``'s content (arrays by dtype, shape and bytes).

    Dict keys are sorted, so insertion order does not matter; ``1`` and ``1.0`` differ
    (JSON encodings), as do arrays of different dtypes.

    Args:
        config: arrays (NumPy or JAX), numbers, strings, ``None``, PRNG keys, flax
            modules (their class and fields), and dicts/lists/tuples of these.

    Returns:
        64 hexadecimal characters.

    Raises:
        TypeError: an object of another type (the message names it).

    Example:
        >>> import numpy as np
        >>> a = content_hash({"x": np.zeros(3), "lr": 0.1})
        >>> a == content_hash({"lr": 0.1, "x": np.zeros(3)}), len(a)
        (True, 64)
        >>> content_hash({"lr": 0.1}) == content_hash({"lr": 0.2})
        False
    """
    h = hashlib.sha256()
    _feed(h, config)
    return h.hexdigest()


def cached(
    cache_dir: str | Path | None, name: str, config: Any, compute: Callable[[], Any]
) -> tuple[Any, bool]:
    """``compute()``, or its saved result when one exists for the same ``config``.

    The entry lives at ``cache_dir / f"{name}-{content_hash(config)[:20]}"`` and is
    written with ``orbax.checkpoint.StandardCheckpointer`` (JAX arrays come back as JAX
    arrays, NumPy arrays as NumPy arrays). ``config`` must list everything ``compute``
    depends on; it is also written beside the entry as ``<entry>.json`` (a readable
    summary: array shapes, not contents) for inspection.

    Args:
        cache_dir: the cache directory (created if needed); ``None`` disables caching.
        name: a label for the entry (letters, digits, ``_``, ``-``).
        config: what the result depends on (see :func:`content_hash`).
        compute: a function of no arguments returning a pytree of arrays.

    Returns:
        ``(result, hit)``: the pytree and whether it was read from the cache.

    Example:
        >>> import tempfile, numpy as np
        >>> d = tempfile.mkdtemp()
        >>> cached(d, "demo", {"n": 3}, lambda: {"a": np.arange(3.0)})[1]
        False
        >>> r, hit = cached(d, "demo", {"n": 3}, lambda: {"a": np.zeros(3)})
        >>> hit, r["a"].tolist()
        (True, [0.0, 1.0, 2.0])
    """
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"name must be letters, digits, '_' or '-', got {name!r}")
    if cache_dir is None:
        return compute(), False
    import orbax.checkpoint as ocp

    root = Path(cache_dir).expanduser().resolve()
    path = root / f"{name}-{content_hash(config)[:20]}"
    with ocp.StandardCheckpointer() as ckpt:
        if path.is_dir():
            return ckpt.restore(path), True
        result = compute()
        root.mkdir(parents=True, exist_ok=True)
        ckpt.save(path, result)
        ckpt.wait_until_finished()
    summary = jax.tree_util.tree_map(
        lambda v: f"array{tuple(np.shape(v))}" if np.ndim(v) or hasattr(v, "dtype") else v,
        config,
        is_leaf=lambda v: hasattr(v, "__dataclass_fields__") or isinstance(v, jax.Array),
    )
    path.with_suffix(".json").write_text(json.dumps(summary, default=repr, indent=1) + "\n")
    return result, False
