r"""Long-run behaviour of descent-ascent (DA) maps: fixed points, cycles, chaos, divergence.

Beyond the paper's App. D.3: *iterative* DA alternates a descent step on
the retain objective with an ascent step on the forget loss, the ridge term being descended
in both half-steps. Per coordinate, with :math:`r = |R_j|/|R|` and :math:`f = |F_j|/|F|`,

.. math::

    w' = w - \eta(-r e^{-w} + \lambda w), \qquad
    w'' = w' - \eta f e^{-w'} - \eta \lambda w'.

To first order in :math:`\eta` this is gradient descent on :math:`L_{DA}` with ridge
:math:`\lambda_{DA} = 2\lambda`; the :math:`\eta^2` term can stop the divergence of case 3
and create *spurious* fixed points, cycles and chaotic orbits. This module iterates such
maps (per coordinate, and on the two-coordinate block of the paper's Sec. 5.1.2) and classifies the
long-run behaviour of every orbit, vmapped over parameter grids.

Conventions (shared by every function here):

* ``problem.lam`` is the ridge :math:`\lambda` of the *iterative* scheme (descended in each
  half-step). ``scheme="simultaneous"`` is gradient descent on :math:`L_{DA}` with
  :math:`\lambda_{DA} = 2\lambda` and ``scheme="flow"`` its :math:`\eta \to 0` limit, the
  gradient flow of the same objective, so all three share the first-order dynamics and the
  exact branch boundaries of the one-coordinate theory (:func:`case_boundaries`).
* ``"flow"`` is integrated with classical RK4 on the *time-rescaled* field
  :math:`\dot w = -\nabla L_{DA}(w)/s(w)`, :math:`s = \|\nabla L_{DA}\| + \text{(curvature
  bound)} + 2\lambda > 0`: a positive rescaling of time leaves every trajectory, and hence
  every limit set, unchanged, and makes a unit RK4 step stable everywhere (no step-size
  parameter; ``learning_rate`` is ignored by the flow).
* Regimes (codes index :data:`REGIMES`): ``0 "da"`` converged to a fixed point in the
  basin of a stationary point of :math:`L_{DA}` (the gradient flow started there converges);
  ``1 "spurious"`` converged to a fixed point of the map from which the gradient flow of
  :math:`L_{DA}` diverges (in 1-D: case 3, or beyond the local maximum :math:`W_{-1}` in
  case 2), i.e. a fixed point the first-order theory says cannot attract;
  ``2 "periodic"`` (smallest period :math:`2 \le p \le` ``max_period``); ``3 "chaotic"``
  (no period found, largest Lyapunov exponent > ``lyap_tol``); ``4 "aperiodic"``
  (no period found, Lyapunov exponent :math:`\le` ``lyap_tol``: quasi-periodic or too slow
  to converge within the run, e.g. at a bifurcation); ``5 "divergent"`` (an iterate left
  :math:`|w| \le B` or became non-finite).
* The divergence bound is :math:`B = 40` for every dtype (:math:`e^{40} \approx 2\cdot
  10^{17}`, well before float32's :math:`e^{-w}` overflows at :math:`w \approx -88.7`), so
  float32 and float64 classify alike; exponents are additionally clamped at
  :math:`0.9 \log(\text{finfo.max})` so that no lane of a vmapped grid ever produces
  ``inf``/``NaN``. For iterative DA the exact map never runs off to :math:`-\infty` (the
  descent half-step throws a very negative iterate to :math:`\approx \eta r e^{-w}`), but
  an orbit that reaches :math:`|w| = B` has a loss term or a kick of size :math:`e^{B}`;
  such a model is numerically meaningless and is reported as divergent.
* Period test: over the last 64 recorded iterates, period :math:`p` holds when
  :math:`\|w_{t} - w_{t-p}\|_\infty \le \text{tol}\,(1 + \|w_t\|_\infty)` *and* the
  same holds at lag :math:`p\lceil 64/p\rceil` (a drift guard: a slow monotone approach
  is not a fixed point yet); the smallest such :math:`p` is the period. The default
  ``tol = 3.5e-4`` (:math:`\sqrt{\epsilon}` of float32) is used for every dtype, again so
  that the classification does not depend on the precision (``w_final`` does).

Everything follows the input dtype (float32 by default, float64 where x64 is enabled).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike, DTypeLike
from jaxtyping import Array, Bool, Float

from .._problems import Block, OneCoordinate
from .._validation import (
    check_choice,
    check_count,
    check_positive,
    check_range,
)
from ._block import _grad_hess

__all__ = [
    "REGIMES",
    "SCHEMES",
    "OrbitClass",
    "classify_da",
    "classify_orbit",
    "da_orbit",
    "da_step",
]

REGIMES: tuple[str, ...] = ("da", "spurious", "periodic", "chaotic", "aperiodic", "divergent")
"""Names of the regime codes returned in :attr:`OrbitClass.regime` (index = code)."""

SCHEMES: tuple[str, ...] = ("iterative", "simultaneous", "flow")
"""The DA dynamics: alternating half-steps, one gradient step on :math:`L_{DA}`, gradient flow."""

_DA, _SPURIOUS, _PERIODIC, _CHAOTIC, _APERIODIC, _DIVERGENT = range(6)
_N_COMPARE = 64
_FLOW_ESCAPE = 40.0  # |w| beyond which the basin test's gradient flow counts as diverged


class OrbitClass(NamedTuple):
    r"""Long-run behaviour of one orbit (a pytree; every field gains the grid's shape).

    ``regime`` indexes :data:`REGIMES`; see each field below.
    """

    regime: jax.Array
    """int32 code, an index into :data:`REGIMES`."""
    period: jax.Array
    """int32 smallest period found (1 for fixed points), 0 if none."""
    lyapunov: jax.Array
    r"""The largest Lyapunov exponent, the mean of :math:`\log\|J v_t\|` over the recorded
    iterates (tangent :math:`v` propagated with ``jax.jvp``, renormalised each step; for a
    cycle of period :math:`p` over the last :math:`p\lfloor M/p\rfloor` steps, i.e. exactly
    :math:`\log|\text{multiplier}|/p`); NaN for divergent orbits."""
    w_final: jax.Array
    """The last iterate (shape ``(...,)`` in 1-D, ``(..., 2)`` in 2-D)."""
    orbit_min: jax.Array
    """Componentwise minimum over the recorded iterates."""
    orbit_max: jax.Array
    """Componentwise maximum over the recorded iterates."""
    residual: jax.Array
    r"""Relative gradient :math:`\|\nabla L_{DA}(w)\| / s(w)` at the last iterate, where
    :math:`s` sums the magnitudes of the gradient's terms (0 at a stationary point,
    :math:`O(\eta)` at the shifted fixed point of iterative DA, order one at a spurious
    fixed point)."""


# ----------------------------------------------------------------------------- helpers
_BOUND = 40.0  # default divergence bound B (any dtype)
_TOL = 3.5e-4  # default period-test tolerance, sqrt(eps) of float32 (any dtype)


def _caps(dtype: Any) -> tuple[float, float]:
    """(divergence bound B, exponent clamp) for a floating dtype."""
    logmax = float(np.log(np.finfo(dtype).max))
    return min(_BOUND, 0.5 * logmax), 0.9 * logmax


def _exp(x: jax.Array) -> jax.Array:
    """``exp`` with the argument clamped so that it never overflows."""
    return jnp.exp(jnp.minimum(x, _caps(x.dtype)[1]))


def _float_dtype(*xs: Any) -> Any:
    dt = jnp.result_type(*(x if hasattr(x, "dtype") else jnp.asarray(x) for x in xs))
    return dt if jnp.issubdtype(dt, jnp.floating) else jnp.result_type(float)


# ----------------------------------------------------------------------------- the two maps
# Internally a state always has a trailing axis: (..., 1) for one coordinate, (..., 2) for
# the block, so that the step, the flow field and the residual are written once.
def _rk4(field, w):
    k1 = field(w)
    k2 = field(w + 0.5 * k1)
    k3 = field(w + 0.5 * k2)
    k4 = field(w + k3)
    return w + (k1 + 2 * k2 + 2 * k3 + k4) / 6


class _Coordinate(NamedTuple):
    """One coordinate: :math:`r = |R_j|/|R|`, :math:`f = \\alpha|R_j|/|F|`, the half-step ridge."""

    r: Any
    f: Any
    lam: Any

    spread = 1.0  # |direction|_1 of the loss terms

    def terms(self, w, *, retain=True, forget=True, ridge):
        """Gradient of ``ridge/2 w^2 + r l(w) - f l(w)`` (the terms kept), and the sum of the
        loss terms' magnitudes (no state axis)."""
        e = _exp(-w)
        g = ridge * w + ((-self.r if retain else 0) + (self.f if forget else 0)) * e
        return g, ((self.r + self.f) * e)[..., 0]

    def basin(self, scheme, n_flow):
        del scheme, n_flow  # closed form for every scheme
        return lambda w: _in_basin_1d(w[0], self.r, self.f, 2 * self.lam)


class _Block(NamedTuple):
    """The block: :math:`a = |S_i|/|R|`, :math:`c = \\alpha|S_i|/|F|`, :math:`\\varepsilon`,
    the half-step ridge."""

    r: Any
    f: Any
    lam: Any
    eps: Any

    @property
    def spread(self):
        return 1 + self.eps

    def terms(self, w, *, retain=True, forget=True, ridge):
        g, _, sx, sy = _grad_hess(
            w,
            self.eps,
            self.r if retain else None,
            -self.f if forget else None,
            "exp",
            ridge=ridge,
            exp=_exp,
        )
        return g, (self.r * sx + self.f * sy if retain and forget else None)

    def basin(self, scheme, n_flow):
        # A fixed point of a gradient step or of the flow is a stationary point: "da".
        if scheme != "iterative":
            return None

        def in_basin(w):
            def body(_, u):
                un = _rk4(lambda z: _flow_field(z, self), u)
                ok = jnp.all(jnp.abs(un) <= _FLOW_ESCAPE)
                return jnp.where(ok, un, jnp.full_like(u, jnp.inf))

            return jnp.all(jnp.isfinite(lax.fori_loop(0, n_flow, body, w)))

        return in_basin


def _model(problem: OneCoordinate | Block, dt: Any) -> _Coordinate | _Block:
    """The map's parameters of a problem, in dtype ``dt``."""
    p = problem
    r = jnp.asarray(p.block_size / p.n_retain, dt)
    f = jnp.asarray(p.alpha * p.block_size / p.n_forget, dt)
    lam = jnp.asarray(p.lam, dt)
    if isinstance(p, OneCoordinate):
        return _Coordinate(r, f, lam)
    return _Block(r, f, lam, jnp.asarray(p.rho, dt))


def _grad_scales(w, m):
    """Gradient of L_DA (ridge 2 lam), the scale s (sum of the terms' magnitudes) and a
    curvature bound."""
    g, t = m.terms(w, ridge=2 * m.lam)
    scale = t * m.spread + 2 * m.lam * jnp.max(jnp.abs(w), axis=-1)
    curv = t * m.spread**2 + 2 * m.lam
    return g, scale, curv


def _flow_field(w, m):
    g, _, curv = _grad_scales(w, m)
    return -g / (jnp.max(jnp.abs(g), axis=-1, keepdims=True) + curv[..., None])


def _residual(w, m):
    g, scale, _ = _grad_scales(w, m)
    return jnp.max(jnp.abs(g), axis=-1) / scale


def _step(w, eta, m, scheme):
    if scheme == "iterative":
        w1 = w - eta * m.terms(w, forget=False, ridge=m.lam)[0]
        return w1 - eta * m.terms(w1, retain=False, ridge=m.lam)[0]
    if scheme == "simultaneous":
        return w - eta * m.terms(w, ridge=2 * m.lam)[0]
    return _rk4(lambda z: _flow_field(z, m), w)


# ----------------------------------------------------------------------------- classifier
def _check_orbit(n_transient, n_record, max_period, lyap_tol):
    """The checks shared by :func:`classify_orbit` and :func:`classify_da`."""
    check_count("n_transient", n_transient, minimum=0)
    check_count("max_period", max_period, minimum=1)
    check_count("n_record", n_record, minimum=2 * _N_COMPARE + 2 * max_period)
    check_positive("lyap_tol", lyap_tol)


def classify_orbit(
    step: Callable[[Float[Array, " d"]], Float[Array, " d"]],
    w0: Float[ArrayLike, " d"],
    *,
    n_transient: int = 1792,
    n_record: int = 256,
    max_period: int = 32,
    tol: float | None = None,
    lyap_tol: float = 0.01,
    bound: float | None = None,
    fixed_point_is_da: Callable[[Float[Array, " d"]], Bool[Array, ""]] | None = None,
    residual: Callable[[Float[Array, " d"]], Float[Array, ""]] | None = None,
) -> OrbitClass:
    r"""Classify the long-run behaviour of the orbit of ``w0`` under ``step``.

    Iterates ``n_transient`` steps, then records ``n_record`` iterates while propagating a
    tangent vector with ``jax.jvp`` (largest Lyapunov exponent
    :math:`\Lambda = \frac1M\sum_t \log\|J(w_t) v_t\|`, :math:`v_{t+1} = Jv_t/\|Jv_t\|`).
    The smallest period :math:`p \le` ``max_period`` with
    :math:`\|w_{t}-w_{t-p}\|_\infty \le \text{tol}(1+\|w_t\|_\infty)` over the last 64
    recorded iterates (and at lag :math:`p\lceil 64/p\rceil`, the drift guard) decides
    between fixed point (:math:`p=1`), periodic orbit, and, if no period is found,
    chaotic (:math:`\Lambda >` ``lyap_tol``) or aperiodic. Any iterate with
    :math:`\|w\|_\infty > B` or a non-finite entry makes the orbit divergent (the state is
    frozen there so a vmapped lane never produces NaN).

    Args:
        step: a function of one state array ``w`` (shape ``(d,)``) returning the next.
        w0: initial state, shape ``(d,)``.
        n_transient: steps discarded before recording (>= 0).
        n_record: recorded steps (>= 128 + 2 ``max_period``).
        max_period: largest period searched (>= 1).
        tol: relative agreement for the period test; default 3.5e-4.
        lyap_tol: Lyapunov exponent above which an aperiodic orbit is chaotic.
        bound: divergence bound :math:`B`; default 40.
        fixed_point_is_da: optional ``w -> bool`` deciding whether a fixed point is in the
            basin of a stationary point of :math:`L_{DA}` (``"da"``) or not
            (``"spurious"``); default: every fixed point is ``"da"``.
        residual: optional ``w -> scalar`` stored in :attr:`OrbitClass.residual`.

    Returns:
        An :class:`OrbitClass` for this orbit.

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> logistic = lambda w: 3.2 * w * (1 - w)  # period-2 regime of the logistic map
        >>> out = aj.theory.classify_orbit(logistic, jnp.array([0.3]))
        >>> aj.theory.REGIMES[int(out.regime)], int(out.period)
        ('periodic', 2)
    """
    _check_orbit(n_transient, n_record, max_period, lyap_tol)
    w0 = jnp.asarray(w0)
    w0 = w0.astype(_float_dtype(w0))
    dt = w0.dtype
    default_bound, _ = _caps(dt)
    bound = default_bound if bound is None else bound
    tol = _TOL if tol is None else tol
    check_positive("bound", bound)
    check_positive("tol", tol)

    def advance(w, bad, wn):
        badn = bad | ~jnp.all(jnp.isfinite(wn)) | jnp.any(jnp.abs(wn) > bound)
        return jnp.where(badn, w, wn), badn

    def transient(_, carry):
        w, bad = carry
        return advance(w, bad, step(w))

    w, bad = lax.fori_loop(0, n_transient, transient, (w0, jnp.zeros((), bool)))

    def record(carry, _):
        w, v, bad = carry
        wn, vn = jax.jvp(step, (w,), (v,))
        nrm = jnp.linalg.norm(vn)
        ok = jnp.isfinite(nrm) & (nrm > 0)
        log_growth = jnp.where(ok, jnp.log(jnp.where(ok, nrm, 1.0)), -jnp.inf)
        v = jnp.where(ok, vn / jnp.where(ok, nrm, 1.0), v)
        w, bad = advance(w, bad, wn)
        return (w, v, bad), (w, log_growth)

    v0 = jnp.zeros_like(w0).at[0].set(1.0)
    (w, _, bad), (orbit, logs) = lax.scan(record, (w, v0, bad), None, length=n_record)

    idx = jnp.arange(n_record - _N_COMPARE, n_record)
    ps = jnp.arange(1, max_period + 1)
    now = orbit[idx]  # (K, d)
    past = orbit[idx[None, :] - ps[:, None]]  # (P, K, d)
    scale = 1 + jnp.max(jnp.abs(now), axis=-1)  # (K,)
    err = jnp.max(jnp.abs(past - now[None]), axis=-1) / scale[None]
    # Drift guard: the same phase one whole window earlier (lag p*ceil(K/p) >= K) must agree
    # too, so that a slow monotone approach is not mistaken for a fixed point or a cycle.
    lags = ps * (-(-_N_COMPARE // ps))
    far = orbit[idx[None, :] - lags[:, None]]  # (P, K, d)
    drift = jnp.max(jnp.abs(far - now[None]), axis=-1) / scale[None]
    holds = jnp.all((err <= tol) & (drift <= tol), axis=-1)  # (P,)
    found = jnp.any(holds)
    period = jnp.where(found, ps[jnp.argmax(holds)], 0).astype(jnp.int32)
    # Average the log growth over a whole number of periods (the last p*floor(M/p) steps):
    # on a cycle this is exactly log|multiplier|/p, without an O(1/M) phase bias.
    n_avg = jnp.where(found, period * (n_record // jnp.maximum(period, 1)), n_record)
    tail_sums = jnp.cumsum(logs[::-1])
    lyap = tail_sums[n_avg - 1] / n_avg.astype(dt)

    is_da = jnp.asarray(True) if fixed_point_is_da is None else fixed_point_is_da(w)
    fixed = jnp.where(is_da, _DA, _SPURIOUS)
    unresolved = jnp.where(lyap > lyap_tol, _CHAOTIC, _APERIODIC)
    regime = jnp.where(period == 1, fixed, jnp.where(period > 1, _PERIODIC, unresolved))
    regime = jnp.where(bad, _DIVERGENT, regime).astype(jnp.int32)
    res = jnp.zeros((), dt) if residual is None else residual(w).astype(dt)
    return OrbitClass(
        regime=regime,
        period=jnp.where(bad, 0, period).astype(jnp.int32),
        lyapunov=jnp.where(bad, jnp.nan, lyap),
        w_final=w,
        orbit_min=jnp.min(orbit, axis=0),
        orbit_max=jnp.max(orbit, axis=0),
        residual=res,
    )


def _in_basin_1d(w, r, f, lam_da):
    """Gradient flow of 1-D L_DA started at w converges (one-coordinate closed form)."""
    z = (r - f) / lam_da
    case1 = z >= 0
    case2 = (z >= -jnp.exp(-1.0)) & ~case1
    # case 2: stationary points W_{-1}(z) <= -1 <= W_0(z); the flow converges iff w > W_{-1}.
    right_of_max = (w >= -1) | (w * jnp.exp(jnp.minimum(w, 0.0)) < z)
    return case1 | (case2 & right_of_max)


def _flat_grid(eta, m, w0):
    """Broadcast ``eta``, the model's fields and ``w0`` (trailing state axis) to one grid and
    flatten it: ``(shape, eta, model, w0)`` with one leading axis."""
    shape = jnp.broadcast_shapes(*(jnp.shape(x) for x in (eta, *m)), w0.shape[:-1])
    flat = [jnp.broadcast_to(x, shape).reshape(-1) for x in (eta, *m)]
    w0 = jnp.broadcast_to(w0, shape + w0.shape[-1:]).reshape(-1, w0.shape[-1])
    return shape, flat[0], type(m)(*flat[1:]), w0


@functools.partial(
    jax.jit,
    static_argnames=(
        "scheme",
        "n_transient",
        "n_record",
        "max_period",
        "tol",
        "lyap_tol",
        "chunk_size",
        "n_flow",
    ),
)
def _classify(
    eta, m, w0, scheme, n_transient, n_record, max_period, tol, lyap_tol, chunk_size, n_flow
):
    shape, eta, m, w0 = _flat_grid(eta, m, w0)

    def one(args):
        e, mm, ww = args
        return classify_orbit(
            lambda w: _step(w, e, mm, scheme),
            ww,
            n_transient=n_transient,
            n_record=n_record,
            max_period=max_period,
            tol=tol,
            lyap_tol=lyap_tol,
            fixed_point_is_da=mm.basin(scheme, n_flow),
            residual=lambda w: _residual(w, mm),
        )

    out = lax.map(one, (eta, m, w0), batch_size=min(chunk_size, max(eta.shape[0], 1)))
    return jax.tree.map(lambda a: a.reshape(shape + a.shape[1:]), out)


@functools.partial(jax.jit, static_argnames=("scheme", "n_transient", "n_record"))
def _orbit(eta, m, w0, scheme, n_transient, n_record):
    shape, eta, m, w0 = _flat_grid(eta, m, w0)

    def one(e, mm, ww):
        def step(w):
            return _step(w, e, mm, scheme)

        w = lax.fori_loop(0, n_transient, lambda _, u: step(u), ww)
        _, orbit = lax.scan(lambda u, _: (step(u), step(u)), w, None, length=n_record)
        return orbit

    orbit = jax.vmap(one)(eta, m, w0)  # (grid, n_record, d)
    return orbit.reshape(shape + orbit.shape[1:])


# ----------------------------------------------------------------------------- public API
def _check_problem(problem: Any) -> None:
    if not isinstance(problem, (OneCoordinate, Block)):
        raise TypeError(
            "problem must be an ascentjax.OneCoordinate or ascentjax.Block, got "
            f"{type(problem).__name__}"
        )


def _check_map(scheme: str, learning_rate: ArrayLike) -> None:
    check_choice("scheme", scheme, SCHEMES)
    check_positive("learning_rate", learning_rate)


def _drop_state_axis(out: OrbitClass) -> OrbitClass:
    """One coordinate: the state arrays lose their trailing axis of size 1."""
    return out._replace(
        w_final=out.w_final[..., 0],
        orbit_min=out.orbit_min[..., 0],
        orbit_max=out.orbit_max[..., 0],
    )


def da_step(
    problem: OneCoordinate | Block,
    w: ArrayLike,
    learning_rate: ArrayLike,
    *,
    scheme: str = "iterative",
) -> Float[Array, "*w"]:
    r"""One step of a DA map of a problem (paper App. D.3 and beyond).

    One coordinate (:math:`r = |R_j|/|R|`, :math:`f = \alpha|R_j|/|F|`, step :math:`\eta`):

    .. math::

        \text{iterative:}\quad w' = w - \eta(-r e^{-w} + \lambda w),\;
        w \mapsto w' - \eta f e^{-w'} - \eta\lambda w'; \qquad
        \text{simultaneous:}\quad w \mapsto w - \eta\big((f - r)e^{-w} + 2\lambda w\big).

    The block: retain samples at :math:`(1, \varepsilon)` (weight :math:`a = |S_i|/|R|`),
    forget samples at :math:`(\varepsilon, 1)` (weight :math:`c = \alpha|S_i|/|F|`), margins
    :math:`x = w_i + \varepsilon w_j`, :math:`y = \varepsilon w_i + w_j`; iterative DA is
    :math:`w' = w - \eta(-a e^{-x(w)}(1, \varepsilon) + \lambda w)`, then
    :math:`w \mapsto w' - \eta(c\,e^{-y(w')}(\varepsilon, 1) + \lambda w')`, and
    ``"simultaneous"`` a gradient step on :math:`L_{DA} = a e^{-x} - c e^{-y} + \lambda\|w\|^2`.
    ``scheme="flow"`` takes one unit RK4 step of the time-rescaled gradient flow of
    :math:`L_{DA}` (``learning_rate`` is ignored). ``problem.lam`` is the ridge
    :math:`\lambda` descended in each half-step, so :math:`L_{DA}` has ridge :math:`2\lambda`.

    Args:
        problem: the setting (:class:`ascentjax.OneCoordinate` or :class:`ascentjax.Block`).
        w: current weight(s): any shape for one coordinate, ``(..., 2)`` for the block.
        learning_rate: step size(s) :math:`\eta > 0` (broadcast like the problem's fields, against
            the leading axes of ``w``).
        scheme: one of :data:`SCHEMES`.

    Returns:
        The next iterate (exponents clamped so it is always finite for finite input).

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> problem = aj.OneCoordinate(alpha=2.0, lam=0.01, block_size=0.05, n_retain=1.0,
        ...                            n_forget=1.0)  # r = 0.05, f = 0.1
        >>> w = 1.0
        >>> for _ in range(2000):
        ...     w = aj.theory.da_step(problem, w, 1.0)
        >>> round(float(w), 2)  # a spurious fixed point
        -2.48
        >>> block = aj.Block(rho=0.8, alpha=0.05, lam=0.01)
        >>> [round(float(v), 4) for v in aj.theory.da_step(block, jnp.ones(2), 0.5)]
        [0.9929, 0.9916]
    """
    _check_problem(problem)
    _check_map(scheme, learning_rate)
    dt = _float_dtype(w, learning_rate, *jax.tree.leaves(problem))
    w = jnp.asarray(w, dt)
    m = _model(problem, dt)
    eta = jnp.asarray(learning_rate, dt)[..., None]  # broadcasts against the state axis
    if isinstance(m, _Coordinate):
        # the parameters broadcast against w: give them w's trailing state axis too
        m = _Coordinate(*(x[..., None] for x in m))
        return _step(w[..., None], eta, m, scheme)[..., 0]
    if w.shape[-1:] != (2,):
        raise ValueError(f"w must have shape (..., 2), got {w.shape}")
    return _step(w, eta, m, scheme)


def classify_da(
    problem: OneCoordinate | Block,
    learning_rate: ArrayLike,
    *,
    scheme: str = "iterative",
    w0: ArrayLike | None = None,
    n_transient: int = 1792,
    n_record: int = 256,
    max_period: int = 32,
    tol: float | None = None,
    lyap_tol: float = 0.01,
    n_flow: int = 512,
    chunk_size: int = 4096,
    dtype: DTypeLike | None = None,
) -> OrbitClass:
    r"""Classify the long-run behaviour of DA over a grid of problems and learning rates.

    The problem's numeric fields, ``learning_rate`` and ``w0`` (less the block's state axis)
    broadcast against each other; the grid is flattened and processed in one jitted pass,
    ``lax.map`` over chunks of ``chunk_size`` vmapped orbits (memory stays bounded for any
    grid size).

    A fixed point is ``"da"`` when the gradient flow of :math:`L_{DA}` (ridge
    :math:`2\lambda`) started there converges, ``"spurious"`` otherwise. For one coordinate
    the test is closed form (case 1, or case 2 to the right of the local maximum
    :math:`W_{-1}`); for the block, ``n_flow`` unit RK4 steps of the time-rescaled flow must
    stay in :math:`\|w\|_\infty \le 40` (only iterative DA needs the test: a fixed point of
    a gradient step or of the flow is a stationary point). The other thresholds are those of
    :func:`classify_orbit`.

    Args:
        problem: the setting(s).
        learning_rate: step size(s) :math:`\eta > 0` (ignored by ``scheme="flow"``).
        scheme: one of :data:`SCHEMES`.
        w0: initial weight(s) (default 1, or ``(1, 1)`` for the block, whose ``w0`` has a
            trailing axis of size 2).
        n_transient: discarded steps.
        n_record: recorded steps (Lyapunov exponent, period test).
        max_period: largest period searched.
        tol: period-test tolerance (default 3.5e-4).
        lyap_tol: Lyapunov threshold for ``"chaotic"``.
        n_flow: RK4 steps of the block's basin test.
        chunk_size: orbits vmapped together inside ``lax.map``.
        dtype: floating dtype; default follows the inputs (float32 unless x64 is on).

    Returns:
        An :class:`OrbitClass` whose fields have the broadcast grid shape (the block's
        ``w_final`` etc. gain a trailing axis of size 2).

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> problem = aj.OneCoordinate(6.0, 0.01, block_size=0.05, n_retain=1.0, n_forget=1.0)
        >>> out = aj.theory.classify_da(problem, jnp.array([1.0, 0.1]))
        >>> [aj.theory.REGIMES[int(k)] for k in out.regime], int(out.period[0])
        (['periodic', 'chaotic'], 3)
        >>> out = aj.theory.classify_da(aj.Block(0.8, 0.02, 0.01), 1.0, n_transient=500)
        >>> aj.theory.REGIMES[int(out.regime)]
        'da'
    """
    _check_problem(problem)
    _check_map(scheme, learning_rate)
    _check_orbit(n_transient, n_record, max_period, lyap_tol)
    check_count("chunk_size", chunk_size, minimum=1)
    check_count("n_flow", n_flow, minimum=1)
    if tol is not None:
        check_positive("tol", tol)
    coordinate = isinstance(problem, OneCoordinate)
    if w0 is None:
        w0 = 1.0 if coordinate else (1.0, 1.0)
    if dtype is None:
        dtype = _float_dtype(learning_rate, *jax.tree.leaves(problem), jnp.asarray(w0))
    w0 = jnp.asarray(w0, dtype)
    check_range("w0", w0)
    if coordinate:
        w0 = w0[..., None]
    elif w0.shape[-1:] != (2,):
        raise ValueError(f"w0 must have shape (2,) (or (..., 2)), got {w0.shape}")
    out = _classify(
        jnp.asarray(learning_rate, dtype),
        _model(problem, dtype),
        w0,
        scheme,
        n_transient,
        n_record,
        max_period,
        tol,
        lyap_tol,
        chunk_size,
        n_flow,
    )
    return _drop_state_axis(out) if coordinate else out


def da_orbit(
    problem: OneCoordinate,
    learning_rate: ArrayLike,
    *,
    scheme: str = "iterative",
    w0: ArrayLike = 1.0,
    n_transient: int = 1792,
    n_record: int = 256,
    dtype: DTypeLike | None = None,
) -> Float[Array, "*batch n_record"]:
    r"""The recorded part of one-coordinate DA orbits (for bifurcation diagrams).

    Args:
        problem: the setting(s) (:class:`ascentjax.OneCoordinate`; fields broadcast with
            ``learning_rate`` and ``w0``).
        learning_rate: step size(s) :math:`\eta > 0`.
        scheme: one of :data:`SCHEMES`.
        w0: initial weight(s).
        n_transient: discarded steps.
        n_record: recorded iterates.
        dtype: floating dtype; default follows the inputs.

    Returns:
        Array of shape ``broadcast_shape + (n_record,)``: the iterates after the transient
        (a divergent orbit shows as values clamped far out or ``inf``; use
        :func:`classify_da` to detect it).

    Example:
        >>> import ascentjax as aj
        >>> problem = aj.OneCoordinate(6.0, 0.01, block_size=0.05, n_retain=1.0, n_forget=1.0)
        >>> orbit = aj.theory.da_orbit(problem, 1.0, n_record=6)
        >>> sorted(round(float(v), 2) for v in orbit[:3])  # a period-3 orbit
        [-4.09, -2.98, -1.93]
    """
    if not isinstance(problem, OneCoordinate):
        raise TypeError(f"problem must be an ascentjax.OneCoordinate, got {type(problem).__name__}")
    _check_map(scheme, learning_rate)
    check_count("n_transient", n_transient, minimum=0)
    check_count("n_record", n_record, minimum=1)
    check_range("w0", w0)
    if dtype is None:
        dtype = _float_dtype(learning_rate, *jax.tree.leaves(problem), w0)
    w0 = jnp.asarray(w0, dtype)[..., None]
    m = _model(problem, dtype)
    return _orbit(jnp.asarray(learning_rate, dtype), m, w0, scheme, n_transient, n_record)[..., 0]
