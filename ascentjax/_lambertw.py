"""The Lambert W function in pure JAX (``jax.scipy`` has none).

W solves :math:`W(z)\\,e^{W(z)} = z`. Two real branches are provided: the principal
branch :math:`W_0` on :math:`[-1/e, \\infty)` and the lower branch :math:`W_{-1}` on
:math:`[-1/e, 0)`. Every closed form of the paper (w_D, w_R, w_DA, Lemmas 4–8) is a
value of W, so its accuracy near the branch point :math:`-1/e` matters: the
distance :math:`z + 1/e` is computed without cancellation by splitting :math:`1/e`
into a high and a low part in the working precision.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

__all__ = ["lambertw"]

# Coefficients of W about the branch point in p = sqrt(2 (e z + 1)):
# W0 = sum c_k p^k and W-1 = sum c_k (-p)^k (Corless et al. 1996, eq. 4.22).
_BRANCH_SERIES = (
    -1.0,
    1.0,
    -1.0 / 3.0,
    11.0 / 72.0,
    -43.0 / 540.0,
    769.0 / 17280.0,
    -221.0 / 8505.0,
    680863.0 / 43545600.0,
    -1963.0 / 204120.0,
    226287557.0 / 37623398400.0,
    -5776369.0 / 1515591000.0,
    169709463197.0 / 69528040243200.0,
)
# Below this p the truncated series is exact to working precision (p^12 * 2e-3 < 1e-19).
_SERIES_ONLY_P = 0.02


def _inv_e_split(dtype: np.dtype) -> tuple[float, float]:
    """1/e = hi + lo with hi exactly representable in ``dtype``."""
    inv_e = 1.0 / math.e
    hi = float(np.asarray(inv_e, dtype=dtype))
    # 1/e to ~32 digits (mpmath) minus hi, rounded to dtype.
    lo = float(np.asarray(0.36787944117144232159552377016146087 - hi, dtype=dtype))
    if dtype == np.float64:
        # the float64 subtraction above has lost the digits below 1e-17: recompute exactly.
        import mpmath

        with mpmath.workdps(40):
            lo = float(mpmath.e**-1 - mpmath.mpf(hi))
    return hi, lo


def _series(p: Array) -> Array:
    acc = jnp.zeros_like(p)
    for c in reversed(_BRANCH_SERIES):
        acc = acc * p + c
    return acc


def _halley_exp(w: Array, z: Array, iters: int) -> Array:
    """Halley iterations on f(w) = w e^w - z (moderate |w|)."""
    for _ in range(iters):
        ew = jnp.exp(w)
        f = w * ew - z
        wp1 = w + 1.0
        denom = ew * wp1 - (w + 2.0) * f / (2.0 * wp1)
        step = jnp.where(denom != 0, f / denom, 0.0)
        w = w - jnp.where(jnp.isfinite(step), step, 0.0)
    return w


def _halley_log(w: Array, logz: Array, iters: int) -> Array:
    """Halley iterations on g(w) = w + log|w| - log|z| (large |w|, either sign)."""
    for _ in range(iters):
        g = w + jnp.log(jnp.abs(w)) - logz
        g1 = 1.0 + 1.0 / w
        g2 = -1.0 / (w * w)
        step = 2.0 * g * g1 / (2.0 * g1 * g1 - g * g2)
        w = w - jnp.where(jnp.isfinite(step), step, 0.0)
    return w


def _float_dtype(z: Array) -> Array:
    if not jnp.issubdtype(z.dtype, jnp.floating):
        z = z.astype(jnp.result_type(float))
    return z


# jitted so that an eager call compiles one program (per shape, dtype and branch) instead of
# dispatching its few hundred elementwise operations one by one; inside a caller's jit it
# is inlined as before
@partial(jax.jit, static_argnums=1)
def _lambertw_impl(z: Array, branch: int) -> Array:
    dtype = z.dtype
    hi, lo = _inv_e_split(np.dtype(dtype))
    one = jnp.ones((), dtype)
    # t = z + 1/e without cancellation: z + hi is exact near the branch point (Sterbenz).
    # (the barrier keeps XLA from folding hi + lo into one constant under jit)
    t = jax.lax.optimization_barrier(z + hi) + lo
    # The float nearest -1/e lies just below -1/e (float32 and float64 alike): arguments
    # within two ulp of 1/e below the branch point are the branch point (W = -1).
    slack = 2.0 * float(np.finfo(dtype).eps) * hi
    at_branch_point = (t < 0) & (t >= -slack)
    t = jnp.where(at_branch_point, 0.0, t)
    p = jnp.sqrt(jnp.maximum(2.0 * math.e * t, 0.0))
    iters = 6 if dtype == jnp.float64 else 4

    if branch == 0:
        near = p < 1.0  # z < ~ -0.18
        w_series = _series(p)
        # Pade approximant about 0 for moderate z, log asymptotics for large z.
        za = jnp.where(near, one, z)
        pade = za * (1.0 + 4.0 / 3.0 * za) / (1.0 + 7.0 / 3.0 * za + 5.0 / 6.0 * za * za)
        big = z > math.e
        zl = jnp.where(big, z, math.e)
        l1 = jnp.log(zl)
        l2 = jnp.log(l1)
        w_big0 = l1 - l2 + l2 / l1
        w_big = _halley_log(w_big0, l1, iters)
        w_mid0 = jnp.where(near, w_series, pade)
        w_mid = _halley_exp(jnp.where(big, one, w_mid0), jnp.where(big, one, z), iters)
        w = jnp.where(big, w_big, w_mid)
        w = jnp.where(p < _SERIES_ONLY_P, w_series, w)
        w = jnp.where(z == 0, jnp.zeros_like(z), w)
        w = jnp.where(z == jnp.inf, z, w)
        w = jnp.where(t < 0, jnp.nan, w)
    else:
        near = z < -0.25
        w_series = _series(-p)
        zn = jnp.where(near | (z >= 0), -0.5 * one, z)
        l1 = jnp.log(-zn)
        l2 = jnp.log(-l1)
        w_far0 = l1 - l2 + l2 / l1
        w_far = _halley_log(w_far0, l1, iters + 1)
        w_near = _halley_exp(
            jnp.where(near, w_series, -2.0 * one), jnp.where(near, z, -0.3 * one), iters
        )
        w = jnp.where(near, w_near, w_far)
        w = jnp.where(p < _SERIES_ONLY_P, w_series, w)
        w = jnp.where(z == 0, -jnp.inf, w)
        w = jnp.where((t < 0) | (z > 0), jnp.nan, w)
    return jnp.where(jnp.isnan(z), z, w)


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def _lambertw(z: Array, branch: int) -> Array:
    return _lambertw_impl(z, branch)


@_lambertw.defjvp
def _lambertw_jvp(branch: int, primals: tuple[Array], tangents: tuple[Array]) -> tuple:
    (z,), (dz,) = primals, tangents
    w = _lambertw(z, branch)
    # W'(z) = W / (z (1 + W)) = e^{-W} / (1 + W): finite at z = 0 (W0'(0) = 1),
    # infinite at the branch point z = -1/e where 1 + W = 0.
    dw = jnp.exp(-w) / (1.0 + w)
    return w, dw * dz


def lambertw(z: ArrayLike, branch: int = 0) -> Array:
    r"""Real Lambert W function, :math:`W(z)\,e^{W(z)} = z`, elementwise.

    Branches:

    * ``branch=0``: the principal branch :math:`W_0` on :math:`[-1/e, \infty)`, values in
      :math:`[-1, \infty)`;
    * ``branch=-1``: the lower branch :math:`W_{-1}` on :math:`[-1/e, 0)`, values in
      :math:`(-\infty, -1]`.

    Edge behaviour: outside the domain the result is NaN (no exception, so it is usable
    under ``jit``). At the branch point both branches return exactly :math:`-1`. The
    float nearest :math:`-1/e` (``-1/math.e``) lies just *below* :math:`-1/e`, outside
    the domain; arguments within two ulp below :math:`-1/e` are treated as the branch
    point, so ``lambertw(-1/math.e)`` is ``-1.0`` on both branches rather than NaN.
    ``lambertw(0, 0) = 0``;
    ``lambertw(0, -1) = -inf`` (the limit :math:`z \to 0^-`); ``lambertw(inf) = inf``.

    The derivative is defined by a custom JVP,

    .. math::
        W'(z) = \frac{W(z)}{z\,(1 + W(z))} = \frac{e^{-W(z)}}{1 + W(z)},

    evaluated in the second form, which is finite at :math:`z = 0` (:math:`W_0'(0) = 1`)
    and infinite at the branch point, where W has a square-root singularity.

    Method: a branch-point series in :math:`p = \sqrt{2(ez + 1)}` near :math:`-1/e`
    (with :math:`z + 1/e` computed without cancellation by splitting :math:`1/e` into a
    high and a low part), a Padé approximant near 0 and logarithmic asymptotics for
    large :math:`|{\log |z|}|`, each refined by a fixed number of Halley iterations, in
    the exponential form :math:`w e^w - z` or the logarithmic form
    :math:`w + \log|w| - \log|z|`. The iteration count is fixed, so the function is a
    straight-line program: vectorised, ``jit``/``vmap``/``grad``-able.

    Accuracy, measured against mpmath at 50 digits on the grids of
    ``tests/test_lambertw.py`` (which assert at most 2 ulp in float64 and 4 in float32):
    the relative error, multiplied by :math:`\min(1, |1 + W|)` (the inverse of the
    condition number near the branch point), is at most 1.0 float64 ulp (measured
    maximum 0.995) for :math:`W_0` on :math:`z \in [10^{-300}, 10^{300}]` and on
    :math:`[-1/e, 0)`, and for :math:`W_{-1}` on :math:`[-1/e, -10^{-300}]`, including
    arguments within :math:`10^{-16}` of :math:`-1/e`. In float32 the same measure is at
    most 0.84 float32 ulp (:math:`|z| \in [10^{-37}, 10^{38}]` and up to :math:`10^{-7}`
    of :math:`-1/e`). scipy's ``lambertw(z, -1)`` is much less accurate within
    :math:`10^{-10}` of :math:`-1/e` (millions of ulp; see the docs page
    ``theory/lambertw``); this implementation is not.

    Args:
        z: real argument(s); integers are promoted to the default float dtype. The
            result has the floating dtype of ``z``.
        branch: ``0`` or ``-1`` (a static Python int).

    Returns:
        W(z), same shape and dtype as ``z``.

    Raises:
        ValueError: if ``branch`` is not ``0`` or ``-1``.
        TypeError: if ``z`` is complex (or not numeric).

    Example:
        >>> import jax.numpy as jnp
        >>> from ascentjax import lambertw
        >>> w = lambertw(jnp.array([1.0, 10.0]))
        >>> [round(float(v), 6) for v in w]  # the omega constant and W(10)
        [0.567143, 1.745528]
        >>> bool(jnp.allclose(w * jnp.exp(w), jnp.array([1.0, 10.0]), rtol=1e-6))
        True
        >>> float(lambertw(-0.2, branch=-1))  # doctest: +ELLIPSIS
        -2.54264...

    References:
        Corless, Gonnet, Hare, Jeffrey, Knuth (1996), "On the Lambert W function".
    """
    if (
        isinstance(branch, bool)
        or not isinstance(branch, (int, np.integer))
        or branch not in (0, -1)
    ):
        raise ValueError(f"branch must be 0 (principal) or -1 (lower), got {branch!r}")
    z = jnp.asarray(z)
    if not (jnp.issubdtype(z.dtype, jnp.floating) or jnp.issubdtype(z.dtype, jnp.integer)):
        raise TypeError(f"z must be real (W is only implemented on the real line), got {z.dtype}")
    return _lambertw(_float_dtype(z), int(branch))
