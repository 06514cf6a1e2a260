"""Small sympy/NumPy helpers shared by the proof modules."""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import sympy as sp

__all__ = ["linear_threshold", "lambdify_real", "mp_lambertw", "rng"]


def linear_threshold(lhs: sp.Expr, var: sp.Symbol) -> tuple[str, sp.Expr]:
    """Solve ``lhs >= 0`` for ``var`` when ``lhs`` is a ratio linear in ``var``.

    ``lhs`` is brought over a common denominator, whose sign sympy must be able to
    decide from the symbols' assumptions, and the numerator must be linear in ``var``
    with a coefficient of decidable sign. Returns ``(">=", t)`` for the solution set
    ``var >= t`` or ``("<=", t)`` for ``var <= t``. Raises ``ValueError`` if a sign
    cannot be decided (so that nothing is typed in by hand).
    """
    num, den = sp.fraction(sp.together(sp.expand(lhs)))
    den_sign = sp.simplify(den).is_positive
    if den_sign is None:
        den_sign = False if sp.simplify(den).is_negative else None
    if den_sign is None:
        raise ValueError(f"cannot decide the sign of the denominator {den}")
    poly = sp.Poly(sp.expand(num), var)
    if poly.degree() != 1:
        raise ValueError(f"{num} is not linear in {var}")
    a, b = poly.all_coeffs()
    a = sp.factor(a)
    if not den_sign:
        a, b = -a, -b
    if a.is_positive:
        return ">=", sp.simplify(-b / a)
    if a.is_negative:
        return "<=", sp.simplify(-b / a)
    raise ValueError(f"cannot decide the sign of the coefficient {a}")


def lambdify_real(args: Any, expr: sp.Expr):
    """``lambdify`` to NumPy/SciPy (``LambertW`` -> ``scipy.special.lambertw``), real part."""
    f = sp.lambdify(args, expr, modules=["scipy", "numpy"])

    def g(*a):
        with np.errstate(all="ignore"):
            return np.real(np.asarray(f(*a)))

    return g


def mp_lambertw(z: Any, k: int = 0, dps: int = 40) -> np.ndarray:
    """Reference Lambert W from mpmath at ``dps`` digits (NaN outside the real domain)."""
    z = np.asarray(z, dtype=float)
    out = np.full(z.shape, np.nan)
    with mpmath.workdps(dps):
        for i, zi in np.ndenumerate(z):
            if zi < -float(mpmath.exp(-1)) or (k == -1 and zi >= 0):
                continue
            out[i] = float(mpmath.re(mpmath.lambertw(mpmath.mpf(float(zi)), k)))
    return out


def rng(seed: int) -> np.random.Generator:
    """The proofs' random grids are seeded: every report is reproducible."""
    return np.random.default_rng(seed)
