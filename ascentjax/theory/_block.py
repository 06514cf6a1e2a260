r"""Exact theory of the cross-correlated block (paper Sec. 5.1.2, Lemmas 6–10, Fig. 4).

A two-coordinate block :math:`\{i, j\}` holds :math:`|S_i|` retain samples at
:math:`x = (1, \varepsilon)` and :math:`|S_j| = \alpha|S_i|` forget samples at
:math:`x = (\varepsilon, 1)`, all labelled :math:`+1`; orthogonal filler only sets the
global counts :math:`|R|`, :math:`|F|`, :math:`|D| = |R| + |F|`. In the margin
coordinates :math:`x = w_i + \varepsilon w_j` (retain) and :math:`y = \varepsilon w_i + w_j`
(forget), with :math:`s(m) = -\ell'(m)` (:math:`e^{-m}` for the exponential proxy,
:math:`1/(1+e^{m})` for the logistic loss), :math:`a = (1, \varepsilon)`,
:math:`c = (\varepsilon, 1)` and

.. math::

    b_D = \frac{|S_i|}{\lambda |D|},\qquad b_R = \frac{|S_i|}{\lambda |R|},\qquad
    c_F = \frac{\alpha |S_i|}{\lambda |F|},

every stationary point has the form :math:`w = \beta_r s(x)\, a + \beta_f s(y)\, c` with
:math:`(\beta_r, \beta_f) = (b_D, \alpha b_D)` (pretrained, :math:`L_D`),
:math:`(b_R, 0)` (oracle, :math:`L_R`) and :math:`(b_R, -c_F)` (descent–ascent,
:math:`L_{DA}`). The functions here solve these systems exactly (to float64 round-off),
evaluate the Lemma 7–10 bounds and thresholds, and scan the "detrimental window" of
:math:`\alpha` in which DA is ordered on the wrong side of the pretrained model.

Every function takes the setting as an :class:`ascentjax.Block`, whose correlation
strength :math:`\varepsilon` is called ``rho`` (the studies' ``--rho`` flag) and whose
``loss`` is ``"exp"`` (default, the paper's proxy) or ``"logistic"``; the Lambert-W bounds
of Lemmas 7–9 and the existence threshold are proved for the exponential proxy only and
ignore ``block.loss``. Functions that scan or bound :math:`\alpha` ignore ``block.alpha``.

Reference: Mavrothalassitis et al., "Ascent Fails to Forget", NeurIPS 2025
(arXiv 2509.26427), Sec. 5.1.2.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike
from jaxtyping import Array, Float

from .._lambertw import lambertw
from .._problems import Block
from .._validation import check_range

__all__ = [
    "BlockPoint",
    "DASolution",
    "BlockSolution",
    "PretrainedBounds",
    "DABounds",
    "WindowScan",
    "block_coefficients",
    "oracle_point",
    "pretrained_point",
    "da_point",
    "da_reduced_residual",
    "lemma7_bounds",
    "lemma8_bounds",
    "lemma8_nonexistence_alpha",
    "lemma9_threshold",
    "lemma10_thresholds",
    "lemma10_sufficient_threshold",
    "da_existence_threshold",
    "window_scan",
    "window_edges",
]


# ----------------------------------------------------------------------------- results
class BlockPoint(NamedTuple):
    """A model of the block: ``weights`` :math:`(w_i, w_j)` and ``margins`` :math:`(x, y)`.

    Both have trailing dimension 2 (batch dimensions in front under ``vmap``).
    """

    weights: jax.Array
    margins: jax.Array


class DASolution(NamedTuple):
    """Result of :func:`da_point`.

    Fields:

    * ``weights``: :math:`(w_i, w_j)` of the DA stationary point that gradient descent on
      :math:`L_{DA}` reaches from the pretrained model; NaN where ``reached`` is false.
    * ``margins``: :math:`(x_{DA}, y_{DA})`, NaN where ``reached`` is false.
    * ``stationary``: whether :math:`L_{DA}` has any stationary point in the block at all
      (decided by the reduced one-dimensional equation, see :func:`da_point`).
    * ``reached``: whether the gradient-descent warm start followed by damped Newton
      converged to a local minimum (positive-definite Hessian) of :math:`L_{DA}`.
    * ``root_margins``: the margins of the largest-:math:`y` root of the reduced equation
      (NaN when ``stationary`` is false), an independent route to the same point.
    """

    weights: jax.Array
    margins: jax.Array
    stationary: jax.Array
    reached: jax.Array
    root_margins: jax.Array


class BlockSolution(NamedTuple):
    r"""Pretrained, oracle and DA points of one block configuration (:func:`solve`).

    Fields:

    * ``pretrained``: :class:`BlockPoint` minimising :math:`L_D`.
    * ``oracle``: :class:`BlockPoint` minimising :math:`L_R` (Lemma 6).
    * ``da``: :class:`DASolution`.
    * ``ordered``: :math:`x_{DA} \le x_D \le x_R` and :math:`y_{DA} \le y_D \le y_R` (DA is
      on the wrong side of the pretrained model in both margins while the oracle is
      on the other side: the detrimental case); false when DA has no point.
    * ``dist_pretrained_oracle``: :math:`\|w_D - w_R\|_2`.
    * ``dist_da_oracle``: :math:`\|w_{DA} - w_R\|_2` (NaN when DA has no point).
    """

    pretrained: BlockPoint
    oracle: BlockPoint
    da: DASolution
    ordered: jax.Array
    dist_pretrained_oracle: jax.Array
    dist_da_oracle: jax.Array


class PretrainedBounds(NamedTuple):
    """Lemma 7 bounds ``x_lo <= x_D <= x_hi``, ``y_lo <= y_D <= y_hi`` (:func:`lemma7_bounds`)."""

    x_lo: jax.Array
    x_hi: jax.Array
    y_lo: jax.Array
    y_hi: jax.Array


class DABounds(NamedTuple):
    r"""Lemma 8 bounds on the DA margins (:func:`lemma8_bounds`).

    ``x_lo``/``y_lo`` are :math:`-\infty` where the lemma gives no lower bound;
    ``exists_possible`` is false where the lemma proves there is no stationary point.
    """

    x_lo: jax.Array
    x_hi: jax.Array
    y_lo: jax.Array
    y_hi: jax.Array
    exists_possible: jax.Array


class WindowScan(NamedTuple):
    """Per-:math:`\alpha` flags of :func:`window_scan` (same shape as ``alphas``).

    Fields:

    * ``alphas``: the scanned :math:`\alpha` values.
    * ``ordered``: DA ordered/detrimental (exact, from the solved systems).
    * ``da_below``: both DA margins at or below the pretrained ones ("DA ≤ D").
    * ``oracle_above``: both oracle margins at or above the pretrained ones.
    * ``da_stationary``: :math:`L_{DA}` has a stationary point.
    * ``lemma``: inside the lemma window :math:`[\alpha_9, \alpha_{10}]`.
    """

    alphas: jax.Array
    ordered: jax.Array
    da_below: jax.Array
    oracle_above: jax.Array
    da_stationary: jax.Array
    lemma: jax.Array


# ----------------------------------------------------------------------------- helpers
def _unpack(block: Block) -> tuple:
    """The block's fields (validated on construction), as a tuple."""
    if not isinstance(block, Block):
        raise TypeError(f"block must be an ascentjax.Block, got {type(block).__name__}")
    return (
        block.rho,
        block.alpha,
        block.lam,
        block.block_size,
        block.n_retain,
        block.n_forget,
        block.loss,
    )


def _constants(block: Block, alpha=None) -> tuple:
    """``(rho, alpha, b_D, b_R, c_F, loss)`` of a block in one float dtype (``alpha``
    overrides ``block.alpha``)."""
    rho, a, lam, block_size, n_retain, n_forget, loss = _unpack(block)
    a = a if alpha is None else alpha
    return (*_coefficients(rho, a, lam, block_size, n_retain, n_forget), loss)


def _dtype(*xs):
    return jnp.result_type(*xs, float)


def _s(m, loss, exp=jnp.exp):
    """:math:`s(m) = -\\ell'(m)` (``exp``: the exponential the exponential loss uses)."""
    return exp(-m) if loss == "exp" else jax.nn.sigmoid(-m)


def _ds(m, loss, exp=jnp.exp):
    """:math:`s'(m)` (negative)."""
    if loss == "exp":
        return -exp(-m)
    sg = jax.nn.sigmoid(m)
    return -sg * (1 - sg)


def _w0(z):
    return lambertw(z)


def _w0_exp(t):
    """:math:`W_0(e^t)` without overflow (Newton on :math:`w + \\ln w = t` for large t)."""
    t = jnp.asarray(t)
    big = 0.9 * float(np.log(np.finfo(t.dtype).max))
    small = _w0(jnp.exp(jnp.minimum(t, big)))
    tb = jnp.maximum(t, big)
    w = tb - jnp.log(tb)
    for _ in range(5):
        w = w - (w + jnp.log(w) - tb) / (1 + 1 / w)
    return jnp.where(t <= big, small, w)


def _bracket_solve(g, lo, hi, iters=80):
    """Root of ``g`` in ``[lo, hi]`` (``g(lo) <= 0 <= g(hi)``): bracketed Newton."""

    def body(_, state):
        lo, hi, t = state
        gt, dg = jax.jvp(g, (t,), (jnp.ones_like(t),))
        lo = jnp.where(gt <= 0, t, lo)
        hi = jnp.where(gt >= 0, t, hi)
        tn = t - gt / dg
        ok = (tn > lo) & (tn < hi) & jnp.isfinite(tn)
        return lo, hi, jnp.where(ok, tn, 0.5 * (lo + hi))

    return lax.fori_loop(0, iters, body, (lo, hi, 0.5 * (lo + hi)))[2]


def _solve_shifted(A, c, loss):
    """Solve :math:`x = c + A\\,s(x)` (``A >= 0``): the frozen-margin equation."""
    if loss == "exp":
        # x = c + W0(A e^{-c}), written as W0(exp(ln A - c)) to avoid overflow.
        return c + jnp.where(A > 0, _w0_exp(jnp.log(jnp.maximum(A, 1e-300)) - c), 0.0)
    return _bracket_solve(lambda x: x - c - A * _s(x, loss), c, c + A)


def _coefficients(rho, alpha, lam, block_size, n_retain, n_forget):
    dt = _dtype(rho, alpha, lam, block_size, n_retain, n_forget)
    rho, alpha, lam, n, nr, nf = (
        jnp.asarray(v, dt) for v in (rho, alpha, lam, block_size, n_retain, n_forget)
    )
    nd = nr + nf
    return rho, alpha, n / (lam * nd), n / (lam * nr), alpha * n / (lam * nf)


def _vectors(rho):
    """The directions :math:`a = (1, \\rho)`, :math:`c = (\\rho, 1)` (last axis; ``rho`` may be
    batched)."""
    one = jnp.ones_like(rho)
    return jnp.stack([one, rho], axis=-1), jnp.stack([rho, one], axis=-1)


def _margins(w, rho):
    """The retain and forget margins :math:`x = a\\cdot w`, :math:`y = c\\cdot w`."""
    return w[..., 0] + rho * w[..., 1], rho * w[..., 0] + w[..., 1]


def _weights(rho, br, bf, x, y, loss):
    a, c = _vectors(rho)
    return br * _s(x, loss) * a + bf * _s(y, loss) * c


def _grad_hess(w, rho, br, bf, loss, *, ridge=1.0, exp=jnp.exp):
    """Gradient, Hessian and the two :math:`s` values of the block objective.

    The objective is :math:`\\tfrac{\\text{ridge}}{2}\\|w\\|^2 + b_r\\ell(x) + b_f\\ell(y)` with
    :math:`x = a\\cdot w`, :math:`y = c\\cdot w` (the theory's objectives divided by
    :math:`\\lambda` with ``ridge = 1``; the DA maps' :math:`L_{DA}` with ``ridge = 2\\lambda``).
    ``w`` has shape ``(..., 2)`` (the parameters broadcast against its leading axes); a
    coefficient ``None`` drops its term. The Hessian is dead code under ``jit`` when unused.
    Returns ``(g, H, s(x), s(y))``.
    """
    a, c = _vectors(rho)
    x, y = _margins(w, rho)
    g = ridge * w
    H = ridge * jnp.eye(2, dtype=w.dtype)
    sx = sy = None
    if br is not None:
        sx = _s(x, loss, exp)
        g = g - (br * sx)[..., None] * a
        H = H - (br * _ds(x, loss, exp))[..., None, None] * (a[..., :, None] * a[..., None, :])
    if bf is not None:
        sy = _s(y, loss, exp)
        g = g - (bf * sy)[..., None] * c
        H = H - (bf * _ds(y, loss, exp))[..., None, None] * (c[..., :, None] * c[..., None, :])
    return g, H, sx, sy


def _damped_newton(w, rho, br, bf, loss, iters=60):
    ts = 0.5 ** jnp.arange(14, dtype=w.dtype)

    def gnorm(v):
        g = _grad_hess(v, rho, br, bf, loss)[0]
        n = jnp.sqrt(g @ g)
        return jnp.where(jnp.isfinite(n), n, jnp.inf)

    def body(_, w):
        g, H, _, _ = _grad_hess(w, rho, br, bf, loss)
        det = H[0, 0] * H[1, 1] - H[0, 1] * H[1, 0]
        d = -jnp.stack([H[1, 1] * g[0] - H[0, 1] * g[1], H[0, 0] * g[1] - H[1, 0] * g[0]]) / det
        cand = w + ts[:, None] * d
        norms = jax.vmap(gnorm)(cand)
        ok = norms < jnp.sqrt(g @ g)
        best = cand[jnp.argmax(ok)]
        return jnp.where(jnp.any(ok), best, w)

    return lax.fori_loop(0, iters, body, w)


# ----------------------------------------------------------------------------- public API
def block_coefficients(
    block: Block,
) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"], Float[Array, "*batch"]]:
    r"""The constants :math:`(b_D, b_R, c_F)` of the block's stationarity equations.

    .. math::

        b_D = \frac{|S_i|}{\lambda(|R|+|F|)},\quad b_R = \frac{|S_i|}{\lambda|R|},\quad
        c_F = \frac{\alpha|S_i|}{\lambda|F|}.

    Example:
        >>> import ascentjax as aj
        >>> coefficients = aj.theory.block_coefficients(aj.Block(0.8, 0.05, 0.01))
        >>> [round(float(v), 4) for v in coefficients]
        [5.0, 5.5556, 2.5]
    """
    return _constants(block)[2:5]


def oracle_point(
    block: Block,
) -> BlockPoint:
    r"""The oracle (minimiser of :math:`L_R`) in closed form (paper Lemma 6).

    The forget samples are absent, so :math:`y = 2\varepsilon b_R s(x)` and
    :math:`x = (1+\varepsilon^2) b_R s(x)`:

    .. math::

        x_R = W_0\big(b_R(1+\varepsilon^2)\big),\qquad
        y_R = \frac{2\varepsilon}{1+\varepsilon^2}\,x_R,\qquad
        w_R = b_R e^{-x_R}(1, \varepsilon)

    for the exponential proxy; for the logistic loss :math:`x_R` solves
    :math:`x = (1+\varepsilon^2) b_R/(1+e^{x})` (a monotone scalar equation) and the other
    two formulas are unchanged. ``alpha`` is accepted for a uniform signature (unused).

    Example:
        >>> import ascentjax as aj
        >>> pt = aj.theory.oracle_point(aj.Block(0.8, 0.05, 0.01))
        >>> [round(float(m), 3) for m in pt.margins]
        [1.687, 1.646]
    """
    rho, _, _, bR, _, loss = _constants(block)
    A = (1 + rho**2) * bR
    x = _solve_shifted(A, jnp.zeros_like(A), loss)
    y = 2 * rho * x / (1 + rho**2)
    return BlockPoint(_weights(rho, bR, 0.0, x, y, loss), jnp.stack([x, y], axis=-1))


def _pretrained(rho, alpha, bD, loss, iters):
    A = bD * (1 + rho**2)
    Af = bD * alpha * (1 + rho**2)

    def sweep(_, xy):
        x, y = xy
        x = _solve_shifted(A, 2 * bD * alpha * rho * _s(y, loss), loss)
        y = _solve_shifted(Af, 2 * bD * rho * _s(x, loss), loss)
        return x, y

    zero = jnp.zeros_like(A)
    x, y = lax.fori_loop(0, iters, sweep, (zero, zero))
    w = _weights(rho, bD, alpha * bD, x, y, loss)
    # Polish with Newton on the strictly convex L_D (quadratic convergence).
    w = _damped_newton(w, rho, bD, alpha * bD, loss, iters=4)
    return BlockPoint(w, jnp.stack(_margins(w, rho)))


def pretrained_point(
    block: Block,
    *,
    iters: int = 200,
) -> BlockPoint:
    r"""The pretrained model (minimiser of the strictly convex :math:`L_D`).

    Nonlinear Gauss–Seidel on the margin equations (paper Lemma 12): with the other margin
    frozen, each equation has the form :math:`x = c + A\,s(x)`, solved exactly by
    :math:`x = c + W_0(A e^{-c})` for the exponential proxy (a bracketed Newton solve for
    the logistic loss):

    .. math::

        x \leftarrow c_x + W_0\big(b_D(1+\varepsilon^2) e^{-c_x}\big),\
        c_x = 2 b_D\alpha\varepsilon e^{-y};
        \qquad
        y \leftarrow c_y + W_0\big(b_D\alpha(1+\varepsilon^2) e^{-c_y}\big),\
        c_y = 2 b_D\varepsilon e^{-x}.

    ``iters`` sweeps are followed by a few Newton steps on :math:`\nabla L_D = 0`.

    Example:
        >>> import ascentjax as aj
        >>> pt = aj.theory.pretrained_point(aj.Block(0.8, 0.05, 0.01))
        >>> [round(float(m), 3) for m in pt.margins]
        [1.652, 1.615]
    """
    rho, alpha, lam, block_size, n_retain, n_forget, loss = _unpack(block)
    return _pretrained_core(rho, alpha, lam, block_size, n_retain, n_forget, loss, iters)


@functools.partial(jax.jit, static_argnums=(6, 7))
def _pretrained_core(rho, alpha, lam, block_size, n_retain, n_forget, loss, iters):
    rho, alpha, bD, _, _ = _coefficients(rho, alpha, lam, block_size, n_retain, n_forget)
    return _pretrained(rho, alpha, bD, loss, iters)


def _da_x_of_y(y, rho, bR, cF, loss):
    """DA retain margin x given the forget margin y (first stationarity equation)."""
    c = 2 * rho * cF * _s(y, loss)
    A = (1 + rho**2) * bR
    if loss == "exp":
        # x = -c + W0(A e^{c}) = -c + W0(exp(ln A + c))
        return -c + _w0_exp(jnp.log(A) + c)
    return _bracket_solve(lambda x: x + c - A * _s(x, loss), -c, A - c)


def _da_residual(y, rho, bR, cF, loss):
    x = _da_x_of_y(y, rho, bR, cF, loss)
    return y - 2 * rho * bR * _s(x, loss) + (1 + rho**2) * cF * _s(y, loss)


def da_reduced_residual(
    block: Block,
    y: ArrayLike,
) -> Float[Array, "*batch"]:
    r"""The reduced DA equation :math:`G(y)`, whose roots are the DA stationary points.

    For a forget margin :math:`y`, the first DA equation
    :math:`x = (1+\varepsilon^2) b_R s(x) - 2\varepsilon c_F s(y)` has exactly one solution
    :math:`x(y)` (its right side decreases in :math:`x`); for the proxy
    :math:`x(y) = -\gamma + W_0\big((1+\varepsilon^2) b_R e^{\gamma}\big)` with
    :math:`\gamma = 2\varepsilon c_F e^{-y}`. Substituting into the second equation gives

    .. math::

        G(y) = y - 2\varepsilon b_R\, s\big(x(y)\big) + (1+\varepsilon^2)\, c_F\, s(y),

    and :math:`(x(y), y)` is stationary for :math:`L_{DA}` iff :math:`G(y) = 0`.

    Example:
        >>> import ascentjax as aj
        >>> round(float(aj.theory.da_reduced_residual(aj.Block(0.8, 0.05, 0.01), 10.0)), 2)
        8.35
    """
    rho, _, _, bR, cF, loss = _constants(block)
    return _da_residual(jnp.asarray(y, rho.dtype), rho, bR, cF, loss)


def _da_scan_bounds(rho, bR, cF, loss):
    """An interval [y_lo, y_hi] outside which G > 0 (exp) / G has the sign of y - y* (logistic)."""
    x0 = _da_x_of_y(jnp.zeros_like(rho), rho, bR, cF, loss)
    y_hi = jnp.maximum(0.0, 2 * rho * bR * _s(x0, loss)) + 1.0
    if loss == "exp":
        # G(y) >= y - y_R + k c_F e^{-y}, k = (1-rho^2)^2/(1+rho^2); with t = -y this is
        # positive for t > t*, the fixed point of the contraction t -> ln((t + a)/(k c_F)).
        xR = _w0((1 + rho**2) * bR)
        a = jnp.abs(2 * rho * xR / (1 + rho**2)) + 2.0
        kc = jnp.maximum((1 - rho**2) ** 2 / (1 + rho**2) * cF, jnp.finfo(rho.dtype).tiny)
        t = lax.fori_loop(
            0, 80, lambda _, t: jnp.maximum(0.0, jnp.log((t + a) / kc)), jnp.zeros_like(rho)
        )
        y_lo = -t - 1.0
    else:
        # G(y) <= y + (1 + rho^2) c_F < 0 below this point.
        y_lo = -(1 + rho**2) * cF - 1.0
    return jnp.minimum(y_lo, y_hi - 1.0), y_hi


def _golden_min(f, lo, hi, iters=60):
    r = float((np.sqrt(5.0) - 1) / 2)

    def body(_, s):
        lo, hi = s
        m1 = hi - r * (hi - lo)
        m2 = lo + r * (hi - lo)
        left = f(m1) < f(m2)
        return jnp.where(left, lo, m1), jnp.where(left, m2, hi)

    lo, hi = lax.fori_loop(0, iters, body, (lo, hi))
    m = 0.5 * (lo + hi)
    return m, f(m)


def _da_reduced_root(rho, bR, cF, loss, grid_size):
    G = lambda y: _da_residual(y, rho, bR, cF, loss)  # noqa: E731
    y_lo, y_hi = _da_scan_bounds(rho, bR, cF, loss)
    grid = jnp.linspace(0.0, 1.0, grid_size, dtype=rho.dtype)
    ys = y_lo + (y_hi - y_lo) * grid
    Gs = jax.vmap(G)(ys)
    neg = Gs <= 0
    has_neg = jnp.any(neg)
    k = jnp.clip(grid_size - 1 - jnp.argmax(neg[::-1]), 0, grid_size - 2)
    j = jnp.argmin(jnp.where(jnp.isfinite(Gs), Gs, jnp.inf))
    jl, jr = jnp.maximum(j - 1, 0), jnp.minimum(j + 1, grid_size - 1)
    y_m, G_m = _golden_min(G, ys[jl], ys[jr])
    stationary = has_neg | (G_m <= 0)
    lo = jnp.where(has_neg, ys[k], y_m)
    hi = jnp.where(has_neg, ys[k + 1], ys[jr])
    y = _bracket_solve(G, lo, hi, iters=100)
    x = _da_x_of_y(y, rho, bR, cF, loss)
    nan = jnp.full_like(x, jnp.nan)
    return stationary, jnp.where(stationary, x, nan), jnp.where(stationary, y, nan)


def _da(rho, alpha, bD, bR, cF, loss, w_start, gd_steps, grid_size):
    stationary, xr, yr = _da_reduced_root(rho, bR, cF, loss, grid_size)

    # Gradient descent on L_DA from the pretrained model, step 1/(curvature of the retain
    # term along a), then damped Newton on grad L_DA = 0 from where it went.
    def gd(_, w):
        g = _grad_hess(w, rho, bR, -cF, loss)[0]
        eta = 1.0 / (1.0 - bR * _ds(_margins(w, rho)[0], loss) * (1 + rho) ** 2)
        return w - eta * g

    w = lax.fori_loop(0, gd_steps, gd, w_start)
    w = _damped_newton(w, rho, bR, -cF, loss, iters=60)
    g, H, _, _ = _grad_hess(w, rho, bR, -cF, loss)
    det = H[0, 0] * H[1, 1] - H[0, 1] * H[1, 0]
    scale = 1.0 + jnp.sqrt(w @ w) + bR + cF
    tol = 1e3 * jnp.finfo(w.dtype).eps * scale
    reached = (
        stationary & jnp.all(jnp.isfinite(w)) & (jnp.sqrt(g @ g) <= tol) & (det > 0) & (H[0, 0] > 0)
    )
    nan2 = jnp.full_like(w, jnp.nan)
    w = jnp.where(reached, w, nan2)
    margins = jnp.stack(_margins(w, rho))
    return DASolution(w, margins, stationary, reached, jnp.stack([xr, yr]))


def da_point(
    block: Block,
    *,
    gd_steps: int = 300,
    grid_size: int = 1024,
) -> DASolution:
    r"""The stationary point of :math:`L_{DA}` that gradient descent reaches from :math:`w_D`.

    The DA system (paper Sec. 5.1.2)

    .. math::

        x = (1+\varepsilon^2) b_R s(x) - 2\varepsilon c_F s(y),\qquad
        y = 2\varepsilon b_R s(x) - (1+\varepsilon^2) c_F s(y)

    can have zero, one or several solutions (with the proxy :math:`L_{DA}` is unbounded
    below). Two independent routes are used:

    1. **Existence (robust, 1-D).** The system reduces exactly to one equation
       :math:`G(y) = 0` in the forget margin (:func:`da_reduced_residual`). For the
       proxy, :math:`G(y) \ge y - y_R + k c_F e^{-y}` with
       :math:`k = (1-\varepsilon^2)^2/(1+\varepsilon^2)`, and
       :math:`G(y) > 0` above :math:`\max(0, 2\varepsilon b_R s(x(0)))`, so all roots lie in
       an explicit interval. :math:`G` is evaluated on ``grid_size`` points of it, its
       minimum is refined by golden-section search, and a stationary point exists iff the
       minimum is :math:`\le 0` (``stationary``). The largest root (bisection-safeguarded
       Newton) is the local minimum nearest the pretrained side (``root_margins``). For the
       logistic loss :math:`G \to -\infty` as :math:`y \to -\infty`, so a root always
       exists.
    2. **Where gradient descent goes.** ``gd_steps`` steps of gradient descent on
       :math:`L_{DA}` from the pretrained model, then damped Newton (backtracking on
       :math:`\|\nabla L_{DA}\|`). ``reached`` is true when this converges to a point with a
       positive-definite Hessian; ``weights``/``margins`` are NaN otherwise (a flag, never an
       exception).

    Example:
        >>> import ascentjax as aj
        >>> sol = aj.theory.da_point(aj.Block(0.8, 0.05, 0.01))
        >>> [round(float(m), 3) for m in sol.margins], bool(sol.stationary)
        ([1.295, 1.204], True)
        >>> bool(aj.theory.da_point(aj.Block(0.8, 0.1, 0.01)).stationary)
        False
    """
    rho, alpha, lam, block_size, n_retain, n_forget, loss = _unpack(block)
    return _solve_block_core(
        rho, alpha, lam, block_size, n_retain, n_forget, loss, gd_steps, grid_size
    ).da


@functools.partial(jax.jit, static_argnums=(6, 7, 8))
def _solve_block_core(rho, alpha, lam, block_size, n_retain, n_forget, loss, gd_steps, grid_size):
    rho, alpha, bD, bR, cF = _coefficients(rho, alpha, lam, block_size, n_retain, n_forget)
    pre = _pretrained(rho, alpha, bD, loss, 200)
    A = (1 + rho**2) * bR
    xR = _solve_shifted(A, jnp.zeros_like(A), loss)
    yR = 2 * rho * xR / (1 + rho**2)
    ora = BlockPoint(_weights(rho, bR, 0.0, xR, yR, loss), jnp.stack([xR, yR]))
    da = _da(rho, alpha, bD, bR, cF, loss, pre.weights, gd_steps, grid_size)
    (xD, yD), (xA, yA) = pre.margins, da.margins
    ordered = da.reached & (xA <= xD) & (xD <= xR) & (yA <= yD) & (yD <= yR)
    d_po = jnp.linalg.norm(pre.weights - ora.weights)
    d_ao = jnp.linalg.norm(da.weights - ora.weights)
    return BlockSolution(pre, ora, da, ordered, d_po, d_ao)


def _solve_block(
    block: Block,
    *,
    gd_steps: int = 300,
    grid_size: int = 1024,
) -> BlockSolution:
    """Public as :func:`ascentjax.theory.solve`."""
    rho, alpha, lam, block_size, n_retain, n_forget, loss = _unpack(block)
    return _solve_block_core(
        rho, alpha, lam, block_size, n_retain, n_forget, loss, gd_steps, grid_size
    )


# ----------------------------------------------------------------------------- bounds
def lemma7_bounds(
    block: Block,
) -> PretrainedBounds:
    r"""Lambert-W bounds on the pretrained margins (paper Lemma 7; proxy, :math:`\alpha \le 1`).

    Since :math:`y_D \le x_D` for :math:`\alpha \le 1`
    (:math:`x - y = b_D(1-\varepsilon)^2(e^{-x} - \alpha e^{-y})`), replacing
    :math:`e^{-y}` by :math:`e^{-x}` or dropping a positive term in the pretrained
    equations gives

    .. math::

        x_D \ge W_0\big(b_D(1+\varepsilon^2+2\alpha\varepsilon)\big),\quad
        W_0\big(b_D\alpha(1+\varepsilon^2)\big) \le y_D \le
        W_0\big(b_D(2\varepsilon+\alpha(1+\varepsilon^2))\big),

    and, with :math:`e^{-y_D} \le e^{-y_{lo}}`,
    :math:`x_D \le \gamma + W_0\big(b_D(1+\varepsilon^2)e^{-\gamma}\big)`,
    :math:`\gamma = 2 b_D\alpha\varepsilon e^{-y_{lo}}`.

    Example:
        >>> import ascentjax as aj
        >>> b = aj.theory.lemma7_bounds(aj.Block(0.8, 0.05, 0.01))
        >>> bool(b.x_lo <= 1.652 <= b.x_hi), bool(b.y_lo <= 1.615 <= b.y_hi)
        (True, True)
    """
    rho, alpha, bD, _, _, loss = _constants(block)
    x_lo = _w0(bD * (1 + rho**2 + 2 * alpha * rho))
    y_lo = _w0(bD * alpha * (1 + rho**2))
    y_hi = _w0(bD * (2 * rho + alpha * (1 + rho**2)))
    x_hi = _solve_shifted(bD * (1 + rho**2), 2 * bD * alpha * rho * jnp.exp(-y_lo), "exp")
    return PretrainedBounds(x_lo, x_hi, y_lo, y_hi)


def lemma8_bounds(
    block: Block,
) -> DABounds:
    r"""Lambert-W bounds on any DA stationary point (paper Lemma 8; proxy).

    At a DA stationary point :math:`y \le x`
    (:math:`x - y = (1-\varepsilon)^2(b_R e^{-x} + c_F e^{-y})`), so :math:`e^{-y} \ge e^{-x}`
    and the DA equations give :math:`x e^{x} \le z_x`, :math:`y e^{y} \le z_y` with

    .. math::

        z_x = b_R(1+\varepsilon^2) - 2\varepsilon c_F,\qquad
        z_y = 2\varepsilon b_R - (1+\varepsilon^2) c_F.

    Hence :math:`x_{DA} \le W_0(z_x)`, :math:`y_{DA} \le W_0(z_y)`, and for negative
    :math:`z` also :math:`x_{DA} \ge W_{-1}(z_x)`, :math:`y_{DA} \ge W_{-1}(z_y)`; if
    :math:`z_x < -1/e` or :math:`z_y < -1/e` there is no stationary point at all
    (``exists_possible`` false). Moreover :math:`x_{DA} \le x_R` and
    :math:`y_{DA} \le 2\varepsilon x_{DA}/(1+\varepsilon^2) \le y_R`, which are folded in.

    Example:
        >>> import ascentjax as aj
        >>> b = aj.theory.lemma8_bounds(aj.Block(0.8, 0.05, 0.01))
        >>> bool(b.x_hi >= 1.295), bool(b.y_hi >= 1.204)
        (True, True)
    """
    rho, alpha, _, bR, cF, loss = _constants(block)
    zx = bR * (1 + rho**2) - 2 * rho * cF
    zy = 2 * rho * bR - (1 + rho**2) * cF
    em1 = -1.0 / float(np.e)
    possible = (zx >= em1) & (zy >= em1)
    xR = _w0((1 + rho**2) * bR)
    nan = jnp.full_like(zx, jnp.nan)
    x_hi = jnp.minimum(_w0(jnp.maximum(zx, em1)), xR)
    y_hi = jnp.minimum(_w0(jnp.maximum(zy, em1)), 2 * rho * x_hi / (1 + rho**2))
    ninf = jnp.full_like(zx, -jnp.inf)
    x_lo = jnp.where(zx < 0, lambertw(jnp.clip(zx, em1, -1e-300), -1), ninf)
    y_lo = jnp.where(zy < 0, lambertw(jnp.clip(zy, em1, -1e-300), -1), ninf)
    return DABounds(
        jnp.where(possible, x_lo, nan),
        jnp.where(possible, x_hi, nan),
        jnp.where(possible, y_lo, nan),
        jnp.where(possible, y_hi, nan),
        possible,
    )


def lemma8_nonexistence_alpha(
    block: Block,
) -> Float[Array, "*batch"]:
    r"""Smallest :math:`\alpha` from which Lemma 8 proves :math:`L_{DA}` has no stationary point.

    :math:`z_y < -1/e` (or :math:`z_x < -1/e`) in :func:`lemma8_bounds`, i.e.

    .. math::

        \alpha > \frac{\lambda|F|}{|S_i|}\min\Big\{\frac{2\varepsilon b_R + 1/e}{1+\varepsilon^2},
        \frac{(1+\varepsilon^2) b_R + 1/e}{2\varepsilon}\Big\}.

    Example:
        >>> import ascentjax as aj
        >>> round(float(aj.theory.lemma8_nonexistence_alpha(aj.Block(0.8, 0.0, 0.01))), 4)
        0.1129
    """
    rho, _, _, bR, _, loss = _constants(block, alpha=0.0)
    dt = rho.dtype
    lam, n_forget, block_size = (
        jnp.asarray(v, dt) for v in (block.lam, block.n_forget, block.block_size)
    )
    unit = lam * n_forget / block_size
    ay = (2 * rho * bR + 1 / float(np.e)) / (1 + rho**2)
    ax = jnp.where(
        rho > 0, ((1 + rho**2) * bR + 1 / float(np.e)) / (2 * jnp.maximum(rho, 1e-300)), jnp.inf
    )
    return unit * jnp.minimum(ax, ay)


def lemma9_threshold(
    block: Block,
) -> Float[Array, "*batch"]:
    r"""Lemma 9: DA undershoots the pretrained model in both margins for :math:`\alpha` above

    .. math::

        \alpha_9 = \max\Big\{\frac{1+\varepsilon^2}{2\varepsilon}\,
        \frac{|F|^2}{|R|(|D|+|F|)},\
        \frac{2\varepsilon}{1+\varepsilon^2}\,\frac{|F||D|}{|R|(|D|+|F|)}\Big\}

    (proxy; :math:`+\infty` at :math:`\varepsilon = 0`). It compares the Lemma 7 lower
    bounds on :math:`(x_D, y_D)` with the Lemma 8 upper bounds on :math:`(x_{DA}, y_{DA})`,
    so it says nothing where no DA stationary point exists.

    Example:
        >>> import ascentjax as aj
        >>> round(float(aj.theory.lemma9_threshold(aj.Block(0.8, 0.0, 0.01))), 4)
        0.0985
    """
    rho, _, _, _, n_retain, n_forget, _ = _unpack(block)
    dt = _dtype(rho, n_retain, n_forget)
    return _lemma9(*(jnp.asarray(v, dt) for v in (rho, n_retain, n_forget)))


def _lemma9(rho, nr, nf):
    nd = nr + nf
    t1 = (
        jnp.where(rho > 0, (1 + rho**2) / (2 * jnp.maximum(rho, 1e-300)), jnp.inf)
        * nf**2
        / (nr * (nd + nf))
    )
    t2 = 2 * rho / (1 + rho**2) * nf * nd / (nr * (nd + nf))
    return jnp.maximum(t1, t2)


def lemma10_thresholds(
    block: Block,
) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    r"""Lemma 10: the :math:`\alpha` at which the pretrained margins reach the oracle's.

    Returns :math:`(\alpha_x, \alpha_y)`, the solutions of :math:`x_D(\alpha) = x_R` and
    :math:`y_D(\alpha) = y_R`; the oracle is above the pretrained model in both margins
    for :math:`\alpha \le \min\{\alpha_x, \alpha_y\}`. Both are closed form. Fixing
    :math:`x = x_R` in the pretrained equations,
    :math:`\alpha s(y) = P = \frac{x_R - b_D(1+\varepsilon^2)s(x_R)}{2 b_D\varepsilon}` and
    :math:`y = Y = 2b_D\varepsilon s(x_R) + (1+\varepsilon^2) b_D P`, so
    :math:`\alpha_x = P / s(Y)`. Fixing :math:`y = y_R`, :math:`x` solves
    :math:`x = \frac{2\varepsilon y_R}{1+\varepsilon^2} + b_D
    \frac{(1-\varepsilon^2)^2}{1+\varepsilon^2} s(x)` (Lambert W for the proxy) and
    :math:`\alpha_y = \frac{y_R - 2 b_D\varepsilon s(x)}{b_D(1+\varepsilon^2) s(y_R)}`.

    Example:
        >>> import ascentjax as aj
        >>> ax, ay = aj.theory.lemma10_thresholds(aj.Block(0.8, 0.0, 0.01))
        >>> [round(float(v), 4) for v in (ax, ay)]
        [0.1102, 0.0969]
    """
    rho, alpha, lam, block_size, n_retain, n_forget, loss = _unpack(block)
    return _lemma10_core(rho, lam, block_size, n_retain, n_forget, loss)


def _lemma10_core(rho, lam, block_size, n_retain, n_forget, loss):
    rho, _, bD, bR, _ = _coefficients(rho, 0.0, lam, block_size, n_retain, n_forget)
    A = (1 + rho**2) * bR
    xR = _solve_shifted(A, jnp.zeros_like(A), loss)
    yR = 2 * rho * xR / (1 + rho**2)
    safe = jnp.maximum(rho, 1e-300)
    P = (xR - bD * (1 + rho**2) * _s(xR, loss)) / (2 * bD * safe)
    Y = 2 * bD * rho * _s(xR, loss) + (1 + rho**2) * bD * P
    alpha_x = jnp.where(rho > 0, P / _s(Y, loss), jnp.inf)
    K = bD * (1 - rho**2) ** 2 / (1 + rho**2)
    x = _solve_shifted(K, 2 * rho * yR / (1 + rho**2), loss)
    alpha_y = (yR - 2 * bD * rho * _s(x, loss)) / (bD * (1 + rho**2) * _s(yR, loss))
    return alpha_x, jnp.maximum(alpha_y, 0.0)


def lemma10_sufficient_threshold(
    block: Block,
) -> Float[Array, "*batch"]:
    r"""Bound-based Lemma 10 (proxy): the oracle is above the pretrained model below it.

    Requires the oracle margins to exceed the Lemma 7 *upper* bounds on the pretrained
    margins, which in closed form reads :math:`\alpha \le \min\{\tilde\alpha_x, \tilde\alpha_y\}`,

    .. math::

        \tilde\alpha_y = \frac{y_R e^{y_R}/b_D - 2\varepsilon}{1+\varepsilon^2},\qquad
        \tilde\alpha_x = \frac{Q e^{Q}}{b_D(1+\varepsilon^2)},\
        Q = \frac{1+\varepsilon^2}{2\varepsilon}\big(x_R - b_D(1+\varepsilon^2)e^{-x_R}\big).

    It is never larger than :func:`lemma10_thresholds`.

    Example:
        >>> import ascentjax as aj
        >>> t = aj.theory.lemma10_sufficient_threshold(aj.Block(0.8, 0.0, 0.01))
        >>> round(float(t), 4)
        0.0251
        >>> bool(t <= min(aj.theory.lemma10_thresholds(aj.Block(0.8, 0.0, 0.01))))
        True
    """
    rho, _, bD, bR, _, loss = _constants(block, alpha=0.0)
    xR = _w0((1 + rho**2) * bR)
    yR = 2 * rho * xR / (1 + rho**2)
    ay = (yR * jnp.exp(yR) / bD - 2 * rho) / (1 + rho**2)
    Q = (1 + rho**2) / (2 * jnp.maximum(rho, 1e-300)) * (xR - bD * (1 + rho**2) * jnp.exp(-xR))
    ax = jnp.where(rho > 0, Q * jnp.exp(jnp.minimum(Q, 700.0)) / (bD * (1 + rho**2)), jnp.inf)
    return jnp.maximum(jnp.minimum(ax, ay), 0.0)


def da_existence_threshold(
    block: Block,
    *,
    alpha_max: float | None = None,
    iters: int = 50,
    grid_size: int = 512,
) -> Float[Array, "*batch"]:
    r"""The :math:`\alpha` above which :math:`L_{DA}` (proxy) has no stationary point.

    Bisection on the existence flag of :func:`da_point` (the reduced equation's minimum
    crossing zero) between :math:`0` and ``alpha_max`` (default: the Lemma 8
    non-existence bound, :func:`lemma8_nonexistence_alpha`). This assumes that existence
    changes once along :math:`\alpha`, which holds on every grid scanned in the tests, and
    the result is checked there against an independent reduction just below and above.

    Example:
        >>> import ascentjax as aj
        >>> round(float(aj.theory.da_existence_threshold(aj.Block(0.8, 0.0, 0.01))), 4)
        0.0798
    """
    rho, alpha, lam, block_size, n_retain, n_forget, loss = _unpack(block)
    if alpha_max is None:
        alpha_max = lemma8_nonexistence_alpha(block)
    return _existence_core(rho, lam, block_size, n_retain, n_forget, alpha_max, iters, grid_size)


@functools.partial(jax.jit, static_argnums=(6, 7))
def _existence_core(rho, lam, block_size, n_retain, n_forget, alpha_max, iters, grid_size):
    rho, _, _, bR, _ = _coefficients(rho, 0.0, lam, block_size, n_retain, n_forget)
    dt = rho.dtype
    unit = jnp.asarray(block_size, dt) / (jnp.asarray(lam, dt) * jnp.asarray(n_forget, dt))
    hi0 = jnp.asarray(alpha_max, dt)

    def body(_, s):
        lo, hi = s
        mid = 0.5 * (lo + hi)
        ok = _da_reduced_root(rho, bR, mid * unit, "exp", grid_size)[0]
        return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

    lo, hi = lax.fori_loop(0, iters, body, (jnp.zeros_like(hi0), hi0))
    return 0.5 * (lo + hi)


def window_scan(
    block: Block,
    alphas: Float[ArrayLike, " n"],
    *,
    grid_size: int = 512,
) -> WindowScan:
    r"""Scan :math:`\alpha` at one :math:`\varepsilon`: exact ordering flags and the lemma window.

    For every :math:`\alpha` in ``alphas`` the three systems are solved exactly
    (:func:`solve`, vmapped). The exact detrimental window is the set where
    ``ordered`` holds; the lemma window is
    :math:`[\alpha_9, \min(\alpha_{10,x}, \alpha_{10,y})]` (:func:`lemma9_threshold`,
    :func:`lemma10_thresholds`), which is vacuous where ``da_stationary`` is false. Use
    :func:`window_edges` for the end points.

    Example:
        >>> import jax.numpy as jnp, ascentjax as aj
        >>> block = aj.Block(rho=0.8, alpha=0.0, lam=0.01)
        >>> scan = aj.theory.window_scan(block, jnp.array([0.005, 0.05, 0.1]))
        >>> [bool(v) for v in scan.ordered]
        [False, True, False]
    """
    if not isinstance(alphas, jax.Array):
        alphas = np.asarray(alphas, dtype=float)
    check_range("alphas", alphas, low=0.0)
    rho, alpha, lam, block_size, n_retain, n_forget, loss = _unpack(block)
    dt = _dtype(rho, alphas, lam)
    return _window_core(
        rho, jnp.asarray(alphas, dt), lam, block_size, n_retain, n_forget, loss, grid_size
    )


@functools.partial(jax.jit, static_argnums=(6, 7))
def _window_core(rho, alphas, lam, block_size, n_retain, n_forget, loss, grid_size):
    sol = jax.vmap(
        lambda a: _solve_block_core(
            rho, a, lam, block_size, n_retain, n_forget, loss, 300, grid_size
        )
    )(alphas)
    xD, yD = sol.pretrained.margins[..., 0], sol.pretrained.margins[..., 1]
    xR, yR = sol.oracle.margins[..., 0], sol.oracle.margins[..., 1]
    xA, yA = sol.da.margins[..., 0], sol.da.margins[..., 1]
    da_below = sol.da.reached & (xA <= xD) & (yA <= yD)
    oracle_above = (xR >= xD) & (yR >= yD)
    a9 = _lemma9(rho, n_retain, n_forget)
    a10 = jnp.minimum(*_lemma10_core(rho, lam, block_size, n_retain, n_forget, loss))
    lemma = (alphas >= a9) & (alphas <= a10)
    return WindowScan(alphas, sol.ordered, da_below, oracle_above, sol.da.stationary, lemma)


def window_edges(alphas: ArrayLike, mask: ArrayLike) -> tuple[float, float]:
    """First and last ``alphas`` where ``mask`` holds, ``(nan, nan)`` if it never does (host-side).

    Example:
        >>> import ascentjax as aj
        >>> aj.theory.window_edges([0.1, 0.2, 0.3], [False, True, True])
        (0.2, 0.3)

    Raises:
        ValueError: if ``mask`` and ``alphas`` differ in shape.
        TypeError: if ``mask`` is not boolean.
    """
    a = np.asarray(alphas, dtype=float)
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"mask must be boolean, got dtype {m.dtype}")
    if m.shape != a.shape:
        raise ValueError(f"mask must have the shape of alphas {a.shape}, got {m.shape}")
    if not m.any():
        return float("nan"), float("nan")
    return float(a[m].min()), float(a[m].max())
