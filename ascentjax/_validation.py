"""Argument checks shared by the public API.

Every public function validates its *static* (Python-level) arguments here, so
that bad input fails with a :class:`ValueError` or :class:`TypeError` naming
the argument and the allowed range, instead of a NaN later. Checks on traced
values are skipped: under ``jit``/``vmap`` the value is not known, and the
functions document what they return for out-of-domain inputs instead.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import jax
import numpy as np

__all__: list[str] = []


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds concrete values (not a JAX tracer)."""
    return not isinstance(x, jax.core.Tracer)


def _values(x: Any) -> np.ndarray | None:
    if not is_concrete(x):
        return None
    try:
        return np.asarray(x)
    except Exception:  # pragma: no cover - exotic array types
        return None


def check_real(name: str, x: Any) -> None:
    """Raise TypeError unless ``x`` is a real number or a real array."""
    if isinstance(x, bool):
        raise TypeError(f"{name} must be a real number, got bool {x!r}")
    if isinstance(x, numbers.Real) or hasattr(x, "dtype"):
        dt = getattr(x, "dtype", None)
        if dt is not None and not (np.issubdtype(dt, np.floating) or np.issubdtype(dt, np.integer)):
            raise TypeError(f"{name} must have a real dtype, got {dt}")
        return
    raise TypeError(f"{name} must be a real number or array, got {type(x).__name__}")


def _real_values(name: str, x: Any) -> np.ndarray | None:
    """``x`` checked to be real, as a float array; ``None`` for a tracer."""
    check_real(name, x)
    v = _values(x)
    return None if v is None else v.astype(float, copy=False)


def check_range(
    name: str,
    x: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Raise ValueError if any concrete value of ``x`` is NaN or outside the range.

    Tracers are accepted unchecked (their values are unknown at trace time).
    """
    v = _real_values(name, x)
    if v is None:
        return
    lo = "[" if low_inclusive else "("
    hi = "]" if high_inclusive else ")"
    rng = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if np.any(np.isnan(v)):
        raise ValueError(f"{name} must be in {rng}, got NaN")
    bad = np.zeros(v.shape, dtype=bool)
    if low is not None:
        bad |= (v < low) if low_inclusive else (v <= low)
    if high is not None:
        bad |= (v > high) if high_inclusive else (v >= high)
    if np.any(bad):
        first = v[bad].flat[0]
        raise ValueError(f"{name} must be in {rng}, got {first!r}")


def check_positive(name: str, x: Any) -> None:
    """``x > 0`` elementwise."""
    check_range(name, x, low=0.0, low_inclusive=False)


def check_nonnegative(name: str, x: Any) -> None:
    """``x >= 0`` elementwise."""
    check_range(name, x, low=0.0)


def check_count(name: str, x: Any, *, minimum: int = 1) -> None:
    """A count: integer-valued and ``>= minimum`` (concrete values only)."""
    v = _real_values(name, x)
    if v is None:
        return
    if np.any(np.isnan(v)) or np.any(v < minimum):
        raise ValueError(f"{name} must be a count >= {minimum}, got {v.flat[0]!r}")


def static_count(name: str, x: Any, *, minimum: int = 1) -> int:
    """A count that fixes an array shape: a concrete integer-valued scalar ``>= minimum``.

    Returns it as a Python ``int``; a tracer or an array raises ``TypeError``.
    """
    check_real(name, x)
    if not is_concrete(x) or np.ndim(x) != 0:
        raise TypeError(
            f"{name} must be a concrete scalar, a static Python int (it fixes an array "
            f"shape), got {x!r}"
        )
    v = float(x)
    if not (v.is_integer() and v >= minimum):
        raise ValueError(f"{name} must be an integer count >= {minimum}, got {x!r}")
    return int(v)


def check_choice(name: str, x: Any, choices: Iterable[str]) -> None:
    """``x`` must be one of ``choices``."""
    choices = tuple(choices)
    if x not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {x!r}")


def check_same_shape(**arrays: Any) -> None:
    """All given arrays share one shape; the message names them."""
    shapes = {k: np.shape(v) for k, v in arrays.items()}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(f"{k}{s}" for k, s in shapes.items())
        raise ValueError(f"shape mismatch: {desc}")
