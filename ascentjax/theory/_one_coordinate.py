r"""Exact theory of one correlated coordinate (paper Sec. 5.1.1, Lemmas 2–5, Cor. 1).

Under the paper's Assumptions 1–2 the coordinates decouple. On
coordinate :math:`j` there are :math:`|R_j|` retain and :math:`|F_j| = \alpha|R_j|`
forget samples, all with margin :math:`w = w_j`; everything else only sets the global
counts :math:`|R|`, :math:`|F|`, :math:`|D| = |R| + |F|`. Per coordinate the three
objectives of the paper's Eq. 1 are

.. math::

    L_D(w) = \frac{(1+\alpha)|R_j|}{|D|}\ell(w) + \frac{\lambda}{2}w^2,\quad
    L_R(w) = \frac{|R_j|}{|R|}\ell(w) + \frac{\lambda}{2}w^2,\quad
    L_{DA}(w) = \Big(\frac{|R_j|}{|R|} - \frac{\alpha|R_j|}{|F|}\Big)\ell(w)
        + \frac{\lambda}{2}w^2,

and with :math:`s(w) = -\ell'(w)` every stationary point solves :math:`w = z\,s(w)` with

.. math::

    z_D = \frac{(1+\alpha)|R_j|}{\lambda|D|},\qquad
    z_R = \frac{|R_j|}{\lambda|R|},\qquad
    z_{DA} = \Big(1 - \frac{\alpha|R|}{|F|}\Big)\frac{|R_j|}{\lambda|R|}.

For the exponential proxy (:math:`s = e^{-w}`) this is :math:`w e^{w} = z`, solved by the
Lambert W function (:func:`ascentjax.lambertw`). For the logistic loss
(:math:`s(w) = 1/(1+e^{w})`) there is no closed form and the same equation is solved
numerically (safeguarded Newton–bisection, :func:`stationary_margin`).

Every function takes the setting as an :class:`ascentjax.OneCoordinate`: ``block_size`` is
:math:`|R_j|`, ``n_retain`` is :math:`|R|`, ``n_forget`` is :math:`|F|`, ``alpha`` is
:math:`\alpha = |F_j|/|R_j|` and ``lam`` is :math:`\lambda`. The fields may be arrays
(broadcast together) or tracers; every function works under ``jit``, ``vmap`` and ``grad``
and follows the floating dtype of its inputs.

Reference: Mavrothalassitis et al., "Ascent Fails to Forget", NeurIPS 2025
(arXiv 2509.26427), Sec. 5.1.1.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike
from jaxtyping import Array, Float

from .._lambertw import lambertw
from .._losses import LOSSES
from .._problems import OneCoordinate
from .._validation import check_choice, check_positive, check_real, is_concrete

__all__ = [
    "Corollary1Path",
    "OneCoordinateSolution",
    "corollary1_path",
    "descent_stability_limit",
    "case_boundaries",
    "lemma3_window",
    "lemma4_bound",
    "lemma5_bound",
    "one_coordinate_z",
    "stationary_margin",
]

_SOLVER_ITERS = 100  # Newton-bisection steps: bisection alone shrinks the bracket 2^-100


# ----------------------------------------------------------------------------- results
class OneCoordinateSolution(NamedTuple):
    r"""Pretrained, oracle and descent–ascent points of one coordinate.

    Fields (arrays of the broadcast shape of the inputs):

    * ``pretrained``: :math:`w_D`, the minimiser of :math:`L_D`.
    * ``oracle``: :math:`w_R`, the minimiser of :math:`L_R`.
    * ``da``: :math:`w_{DA}`, the local minimum of :math:`L_{DA}` (principal branch
      :math:`W_0` for the exponential proxy); NaN in case 3, where :math:`L_{DA}` has no
      stationary point.
    * ``da_max``: the local maximum :math:`W_{-1}(z_{DA})` of :math:`L_{DA}`, present only
      in case 2; NaN otherwise (and always NaN for the logistic loss).
    * ``case``: int32 branch case 1, 2 or 3 (see
      :func:`solve`); always 1 for the logistic loss.
    """

    pretrained: jax.Array
    oracle: jax.Array
    da: jax.Array
    da_max: jax.Array
    case: jax.Array


class Corollary1Path(NamedTuple):
    r"""The distances of Corollary 1 along a path :math:`\lambda \to 0` (:func:`corollary1_path`).

    Fields (arrays of the shape of ``lams``):

    * ``lam``: the ridge strengths :math:`\lambda`.
    * ``alpha``: :math:`\alpha = |F|/|R| + \kappa\lambda` on the path.
    * ``dist_pretrained_oracle``: :math:`|w_D - w_R|` (tends to 0).
    * ``dist_da_oracle``: :math:`|w_{DA} - w_R|` (tends to :math:`\infty`).
    * ``lemma4``: the Lemma 4 bound :math:`|\ln((1+\alpha)|R|/|D|)|` on
      :math:`|w_D - w_R|` (tends to 0).
    """

    lam: jax.Array
    alpha: jax.Array
    dist_pretrained_oracle: jax.Array
    dist_da_oracle: jax.Array
    lemma4: jax.Array


# ----------------------------------------------------------------------------- helpers
def _check_shapes(**arrays: ArrayLike) -> None:
    shapes = {k: np.shape(v) for k, v in arrays.items()}
    try:
        np.broadcast_shapes(*shapes.values())
    except ValueError:
        desc = ", ".join(f"{k}{s}" for k, s in shapes.items())
        raise ValueError(f"shape mismatch (arguments do not broadcast): {desc}") from None


def _dtype(*xs: ArrayLike) -> jnp.dtype:
    return jnp.result_type(*xs, float)


def _cast(*xs: ArrayLike) -> tuple[jax.Array, ...]:
    dt = _dtype(*xs)
    return tuple(jnp.asarray(x, dt) for x in xs)


def _z(n_block, alpha, lam, n_retain, n_forget):
    nb, a, lam, nr, nf = _cast(n_block, alpha, lam, n_retain, n_forget)
    z_d = (1 + a) * nb / (lam * (nr + nf))
    z_r = nb / (lam * nr)
    # 1 - alpha |R|/|F| = (|F| - alpha |R|)/|F|. A difference of a few ulp is the rounding of
    # alpha = |F|/|R| itself (and its sign depends on whether XLA contracts the product into
    # an FMA): snap it to 0, so alpha = fl(|F|/|R|) is case 1 with w_DA = 0 exactly.
    d = (nf - a * nr) / nf
    d = jnp.where(jnp.abs(d) <= 4 * jnp.finfo(d.dtype).eps, jnp.zeros_like(d), d)
    z_da = d * nb / (lam * nr)
    return z_d, z_r, z_da


def _logistic_root(z: jax.Array, iters: int = _SOLVER_ITERS) -> jax.Array:
    r"""The unique root of :math:`f(w) = w - z\,\sigma(-w)` (safeguarded Newton–bisection).

    Bracket :math:`[\min(z, 0), z/2]`: :math:`f(\min(z,0)) \le 0 \le f(z/2)`. Derivatives
    follow from the implicit function theorem (one Newton step at the stopped root).
    """
    z = jnp.asarray(z)

    def f(w, z):
        return w - z * jax.nn.sigmoid(-w)

    def df(w, z):
        return 1.0 + z * jax.nn.sigmoid(w) * jax.nn.sigmoid(-w)

    zs = lax.stop_gradient(z)
    lo0 = jnp.minimum(zs, 0.0)
    hi0 = 0.5 * zs

    def body(_, state):
        lo, hi, w = state
        fw = f(w, zs)
        lo = jnp.where(fw <= 0, w, lo)
        hi = jnp.where(fw >= 0, w, hi)
        wn = w - fw / df(w, zs)
        ok = (wn > lo) & (wn < hi) & jnp.isfinite(wn)
        return lo, hi, jnp.where(ok, wn, 0.5 * (lo + hi))

    _, _, w = lax.fori_loop(0, iters, body, (lo0, hi0, 0.5 * (lo0 + hi0)))
    w = lax.stop_gradient(jnp.where(jnp.isnan(z), jnp.nan, w))
    # implicit-function-theorem step: value unchanged (f(w) = 0), derivative -f_z / f_w
    return w - f(w, z) / df(w, lax.stop_gradient(z))


def _exp_branches(z: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(W0 or NaN, W-1 or NaN, case) for the exponential proxy, NaN-gradient safe."""
    w0_raw = lambertw(lax.stop_gradient(z))
    case3 = jnp.isnan(w0_raw) & ~jnp.isnan(z)
    case2 = ~case3 & (z < 0)
    z0 = jnp.where(case3, jnp.zeros_like(z), z)
    w0 = jnp.where(case3, jnp.nan, lambertw(z0))
    zm = jnp.where(case2, z, -0.1 * jnp.ones_like(z))
    wm = jnp.where(case2, lambertw(zm, branch=-1), jnp.nan)
    case = jnp.where(case3, 3, jnp.where(case2, 2, 1)).astype(jnp.int32)
    return w0, wm, case


# ----------------------------------------------------------------------------- public API
def one_coordinate_z(
    problem: OneCoordinate,
) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"], Float[Array, "*batch"]]:
    r"""The arguments :math:`(z_D, z_R, z_{DA})` of the stationarity equation :math:`w = z\,s(w)`.

    .. math::

        z_D = \frac{(1+\alpha)|R_j|}{\lambda|D|},\quad
        z_R = \frac{|R_j|}{\lambda|R|},\quad
        z_{DA} = \frac{|F| - \alpha|R|}{|F|}\,\frac{|R_j|}{\lambda|R|},

    with :math:`|D| = |R| + |F|`. :math:`z_{DA}` is computed in the second form, and a
    relative difference :math:`|1 - \alpha|R|/|F|| \le 4\varepsilon_{\text{mach}}` (the
    rounding of :math:`\alpha = |F|/|R|` itself) is snapped to 0, so
    ``alpha = n_forget / n_retain`` gives :math:`z_{DA} = 0` and :math:`w_{DA} = 0` exactly.

    Args:
        problem: the setting (:class:`ascentjax.OneCoordinate`; ``n_forget > 0``).

    Returns:
        ``(z_D, z_R, z_DA)``, arrays of the broadcast shape of the fields.

    Raises:
        ValueError: for non-broadcasting fields or ``n_forget = 0``.

    Example:
        >>> import ascentjax as aj
        >>> problem = aj.OneCoordinate(0.05, 0.01, block_size=5, n_retain=100, n_forget=10)
        >>> [round(float(v), 4) for v in aj.theory.one_coordinate_z(problem)]
        [4.7727, 5.0, 2.5]
    """
    return _z(*_fields(problem)[:5])


def _fields(problem: OneCoordinate) -> tuple:
    """``(block_size, alpha, lam, n_retain, n_forget, loss)``, checked to broadcast."""
    if not isinstance(problem, OneCoordinate):
        raise TypeError(f"problem must be an ascentjax.OneCoordinate, got {type(problem).__name__}")
    p = problem
    _check_shapes(
        block_size=p.block_size, alpha=p.alpha, lam=p.lam, n_retain=p.n_retain, n_forget=p.n_forget
    )
    if is_concrete(p.n_forget) and np.any(np.asarray(p.n_forget, float) <= 0):
        raise ValueError(f"n_forget must be > 0 here (|F| divides), got {p.n_forget!r}")
    return p.block_size, p.alpha, p.lam, p.n_retain, p.n_forget, p.loss


def stationary_margin(z: ArrayLike, *, loss: str = "exp") -> Float[Array, "*batch"]:
    r"""Solve the one-coordinate stationarity equation :math:`w = z\,s(w)`, :math:`s = -\ell'`.

    * ``loss="exp"``: :math:`w e^{w} = z`, the principal branch :math:`W_0(z)` (the
      minimiser for :math:`z \ge -1/e`; NaN below :math:`-1/e`, where there is no root).
    * ``loss="logistic"``: :math:`w(1 + e^{w}) = z`. For every real :math:`z` there is
      exactly one root: for :math:`z \ge 0` the map :math:`w - z\sigma(-w)` is increasing;
      for :math:`z < 0` it is increasing outside the interval where
      :math:`|z|\sigma(w)\sigma(-w) > 1`, which is symmetric about 0, and positive on
      :math:`[-w^*, \infty)`, so it crosses zero once, in :math:`(z, z/2)`. The root is
      found by Newton steps safeguarded by bisection on the bracket
      :math:`[\min(z, 0), z/2]` (100 fixed iterations, so the function is ``jit``- and
      ``vmap``-able); its derivative comes from the implicit function theorem,
      :math:`dw/dz = \sigma(-w)/(1 + z\sigma(w)\sigma(-w))`.

    Multiplying by :math:`\lambda`, :math:`w = z\,s(w)` is :math:`\partial_w L = 0` for the
    one-coordinate objectives with :math:`z` from :func:`one_coordinate_z`.

    Args:
        z: real argument(s), any shape.
        loss: ``"exp"`` (default) or ``"logistic"``.

    Returns:
        The root(s), same shape and floating dtype as ``z``.

    Raises:
        ValueError: for an unknown ``loss``.

    Example:
        >>> import math
        >>> import ascentjax as aj
        >>> w = float(aj.theory.stationary_margin(5.0, loss="logistic"))
        >>> round(w, 6)
        1.177505
        >>> abs(w * (1 + math.exp(w)) - 5.0) < 1e-5  # the root of w (1 + e^w) = z
        True
    """
    check_choice("loss", loss, LOSSES)
    check_real("z", z)
    z = jnp.asarray(z)
    if not jnp.issubdtype(z.dtype, jnp.floating):
        z = z.astype(_dtype(z))
    if loss == "exp":
        return lambertw(z)
    return _logistic_root(z)


def _solve_one_coordinate(problem: OneCoordinate) -> OneCoordinateSolution:
    r"""Pretrained, oracle and DA stationary points of one coordinate (paper Lemmas 2–3).

    Exponential proxy (closed form, :doc:`/theory/one_coordinate`):

    .. math::

        w_D = W_0\Big(\frac{(1+\alpha)|R_j|}{\lambda|D|}\Big),\quad
        w_R = W_0\Big(\frac{|R_j|}{\lambda|R|}\Big),\quad
        w_{DA} = W\Big(\Big(1 - \frac{\alpha|R|}{|F|}\Big)\frac{|R_j|}{\lambda|R|}\Big).

    Branch cases of :math:`w_{DA}` (``case``), by the sign of :math:`z_{DA}`:

    1. :math:`\alpha \le |F|/|R|` (:math:`z_{DA} \ge 0`): one stationary point, the
       minimum :math:`W_0(z_{DA}) \ge 0` (``da``); :math:`\alpha = |F|/|R|` gives
       :math:`w_{DA} = 0`. ``da_max`` is NaN.
    2. :math:`|F|/|R| < \alpha \le |F|/|R| + \lambda|F|/(e|R_j|)`
       (:math:`-1/e \le z_{DA} < 0`): two stationary points, the local minimum
       :math:`W_0(z_{DA}) \in [-1, 0)` (``da``) and the local maximum
       :math:`W_{-1}(z_{DA}) \le -1` (``da_max``); they merge at :math:`-1` on the
       boundary.
    3. :math:`\alpha > |F|/|R| + \lambda|F|/(e|R_j|)` (:math:`z_{DA} < -1/e`): no stationary
       point; gradient flow on :math:`L_{DA}` diverges to :math:`-\infty`. ``da`` and
       ``da_max`` are NaN.

    The case boundaries are :func:`case_boundaries`. Following :func:`ascentjax.lambertw`,
    a :math:`z_{DA}` within two ulp below the float nearest :math:`-1/e` counts as the
    branch point (case 2, ``da = da_max = -1``).

    Logistic loss (``loss="logistic"``): the same equations :math:`w = z\,\sigma(-w)` with
    the same :math:`z` are solved numerically (:func:`stationary_margin`). :math:`L_{DA}` is
    bounded below for :math:`\lambda > 0` and has exactly one stationary point, its global
    minimum, for every :math:`\alpha`: ``da`` is always finite, ``da_max`` is NaN and
    ``case`` is 1.

    Args:
        problem: the setting; ``problem.loss`` is ``"exp"`` (closed form) or ``"logistic"``
            (numerical).

    Returns:
        A :class:`OneCoordinateSolution` of arrays of the broadcast shape of the fields.

    Raises:
        ValueError: for non-broadcasting fields or ``n_forget = 0``.

    Example:
        >>> import ascentjax as aj
        >>> counts = {"block_size": 5, "n_retain": 100, "n_forget": 10}
        >>> sol = aj.theory.solve(aj.OneCoordinate(0.05, 0.01, **counts))
        >>> [round(float(v), 4) for v in (sol.pretrained, sol.oracle, sol.da)]
        [1.3003, 1.3267, 0.9586]
        >>> int(sol.case)
        1
        >>> sol = aj.theory.solve(aj.OneCoordinate(0.105, 0.01, **counts))  # case 2
        >>> int(sol.case), round(float(sol.da), 4), round(float(sol.da_max), 4)
        (2, -0.3574, -2.1533)
        >>> int(aj.theory.solve(aj.OneCoordinate(0.5, 0.01, **counts)).case)  # diverges
        3
    """
    *fields, loss = _fields(problem)
    z_d, z_r, z_da = _z(*fields)
    if loss == "exp":
        w_d, w_r = lambertw(z_d), lambertw(z_r)
        da, da_max, case = _exp_branches(z_da)
    else:
        w_d, w_r, da = _logistic_root(z_d), _logistic_root(z_r), _logistic_root(z_da)
        da_max = jnp.full_like(da, jnp.nan)
        case = jnp.ones(da.shape, jnp.int32)
    # w_R does not depend on alpha: broadcast every field to the common input shape
    shape = jnp.broadcast_shapes(w_d.shape, w_r.shape, da.shape)
    w_d, w_r, da, da_max, case = (jnp.broadcast_to(v, shape) for v in (w_d, w_r, da, da_max, case))
    return OneCoordinateSolution(w_d, w_r, da, da_max, case)


def case_boundaries(
    problem: OneCoordinate,
) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    r"""The :math:`\alpha` values separating the three branch cases (exponential proxy).

    .. math::

        \alpha_0 = \frac{|F|}{|R|}\quad(z_{DA} = 0,\ w_{DA} = 0),\qquad
        \alpha_{-1/e} = \frac{|F|}{|R|} + \frac{\lambda|F|}{e\,|R_j|}\quad(z_{DA} = -1/e).

    Case 1 is :math:`\alpha \le \alpha_0`, case 2 :math:`\alpha_0 < \alpha \le \alpha_{-1/e}`,
    case 3 :math:`\alpha > \alpha_{-1/e}` (see :func:`solve`). ``problem.alpha`` is not used.

    Args:
        problem: the setting (:class:`ascentjax.OneCoordinate`).

    Returns:
        ``(alpha_0, alpha_branch)``.

    Example:
        >>> import ascentjax as aj
        >>> problem = aj.OneCoordinate(0.0, 0.01, block_size=5, n_retain=100, n_forget=10)
        >>> [round(float(a), 5) for a in aj.theory.case_boundaries(problem)]
        [0.1, 0.10736]
    """
    n_block, _, lam, n_retain, n_forget, _ = _fields(problem)
    nb, lam, nr, nf = _cast(n_block, lam, n_retain, n_forget)
    a1 = nf / nr + lam * nf / (math.e * nb)
    return jnp.broadcast_to(nf / nr, a1.shape), a1


def lemma3_window(problem: OneCoordinate) -> tuple[Float[Array, "*batch"], Float[Array, "*batch"]]:
    r"""Lemma 3's :math:`\alpha`-window, in which DA moves away from the oracle.

    For

    .. math::

        \frac{|F|^2}{|R|(|F| + |D|)} \le \alpha \le \frac{|F|}{|R|}

    the stationary points are ordered :math:`w_{DA} \le w_D \le w_R`: every DA step from the
    pretrained model moves away from the oracle. The window is exact: the lower end is
    :math:`z_{DA} \le z_D` and the upper end :math:`z_D \le z_R`, and :math:`W_0` is
    increasing, so outside the window the order fails (for every :math:`\lambda`,
    :math:`|R_j|`).

    Args:
        problem: the setting; only the counts :math:`|R|, |F|` are used.

    Returns:
        ``(alpha_lo, alpha_hi)``.

    Example:
        >>> import ascentjax as aj
        >>> window = aj.theory.lemma3_window(aj.OneCoordinate(0.0, 0.01, 5, 100, 10))
        >>> [round(float(a), 6) for a in window]
        [0.008333, 0.1]
    """
    _, _, _, n_retain, n_forget, _ = _fields(problem)
    nr, nf = _cast(n_retain, n_forget)
    return nf**2 / (nr * (2 * nf + nr)), nf / nr


def lemma4_bound(problem: OneCoordinate) -> Float[Array, "*batch"]:
    r"""Lemma 4: :math:`|w_D - w_R| \le |\ln((1+\alpha)|R|/|D|)|` for all :math:`\lambda, \alpha`.

    From :math:`W_0(x) = \ln x - \ln W_0(x)` (:math:`x > 0`),
    :math:`w_D - w_R = \ln(z_D/z_R) - \ln(w_D/w_R)` with :math:`z_D/z_R = (1+\alpha)|R|/|D|`,
    and the second logarithm has the sign of the first (:math:`W_0` increasing,
    :math:`W_0(x)/x` decreasing). The bound does not depend on :math:`\lambda` or
    :math:`|R_j|`; it vanishes at :math:`\alpha = |F|/|R|`.

    Args:
        problem: the setting; :math:`\lambda` and :math:`|R_j|` are not used.

    Returns:
        The bound, broadcast shape.

    Example:
        >>> import ascentjax as aj
        >>> round(float(aj.theory.lemma4_bound(aj.OneCoordinate(0.05, 0.01, 5, 100, 10))), 5)
        0.04652
    """
    _, alpha, _, n_retain, n_forget, _ = _fields(problem)
    a, nr, nf = _cast(alpha, n_retain, n_forget)
    return jnp.abs(jnp.log((1 + a) * nr / (nr + nf)))


def lemma5_bound(problem: OneCoordinate) -> Float[Array, "*batch"]:
    r"""Lemma 5: for :math:`\alpha \ge |F|/|R|`, :math:`|w_R - w_{DA}| \ge W_0(|R_j|/(\lambda|R|))`.

    For such :math:`\alpha`, :math:`z_{DA} \le 0`, so every stationary point of
    :math:`L_{DA}` (either branch) is :math:`\le 0` and
    :math:`|w_R - w_{DA}| = w_R - w_{DA} \ge w_R`. The bound is :math:`w_R` itself, which
    grows without bound as :math:`\lambda \to 0`. (In case 3 there is no DA stationary
    point and gradient flow runs to :math:`-\infty`: the distance is unbounded.)

    Args:
        problem: the setting; :math:`\alpha` and :math:`|F|` are not used.

    Returns:
        :math:`W_0(|R_j|/(\lambda|R|))`, broadcast shape.

    Example:
        >>> import ascentjax as aj
        >>> round(float(aj.theory.lemma5_bound(aj.OneCoordinate(0.2, 0.01, 5, 100, 10))), 4)
        1.3267
    """
    *fields, _ = _fields(problem)
    return lambertw(_z(*fields)[1])  # w_R = W0(z_R)


def corollary1_path(
    problem: OneCoordinate, lams: Float[ArrayLike, "*path"], kappa: ArrayLike = 0.0
) -> Corollary1Path:
    r"""Corollary 1 along the path :math:`\alpha = |F|/|R| + \kappa\lambda`, :math:`\lambda \to 0`.

    On this path :math:`z_{DA} = -\kappa|R_j|/|F|` does not depend on :math:`\lambda`, so
    :math:`w_{DA} = W_0(-\kappa|R_j|/|F|)` stays fixed (it needs
    :math:`\kappa \le |F|/(e|R_j|)`; :math:`\kappa = 0` gives :math:`w_{DA} = 0`), while the
    Lemma 4 bound :math:`|\ln((1+\alpha)|R|/|D|)| = |\ln(1 + \kappa\lambda|R|/|D|)| \to 0`
    and :math:`w_R = W_0(|R_j|/(\lambda|R|)) \to \infty`. Hence

    .. math::

        |w_D - w_R| \to 0,\qquad |w_{DA} - w_R| \to \infty\qquad (\lambda \to 0):

    the pretrained model becomes the oracle while DA's stationary point moves
    arbitrarily far from it.

    Args:
        problem: the setting; only the counts :math:`|R_j|, |R|, |F|` are used
            (:math:`\alpha` and :math:`\lambda` are set by the path).
        lams: ridge values :math:`\lambda > 0` along the path (any shape).
        kappa: slope of the path, :math:`\kappa \le |F|/(e|R_j|)`; negative values approach
            :math:`|F|/|R|` from below (case 1), positive from above (case 2).

    Returns:
        A :class:`Corollary1Path`.

    Raises:
        ValueError: for bad counts or ``lams``, :math:`\kappa > |F|/(e|R_j|)` or a negative
            :math:`\alpha` on the path (concrete values).

    Example:
        >>> import jax.numpy as jnp
        >>> import ascentjax as aj
        >>> p = aj.theory.corollary1_path(
        ...     aj.OneCoordinate(0.1, 0.01, 5, 100, 10), jnp.array([1e-1, 1e-3, 1e-5]), kappa=0.5)
        >>> [round(float(d), 4) for d in p.dist_pretrained_oracle]
        [0.0117, 0.0003, 0.0]
        >>> [round(float(d), 3) for d in p.dist_da_oracle]
        [0.709, 3.218, 6.984]
    """
    n_block, _, _, n_retain, n_forget, _ = _fields(problem)
    check_positive("lams", lams)
    check_real("kappa", kappa)
    _check_shapes(n_block=n_block, lams=lams, n_retain=n_retain, n_forget=n_forget, kappa=kappa)
    if all(is_concrete(v) for v in (kappa, n_forget, n_block)):
        kmax = np.asarray(n_forget, float) / (math.e * np.asarray(n_block, float))
        if np.any(np.asarray(kappa, float) > kmax * (1 + 1e-12)):
            raise ValueError(
                f"kappa must be <= |F|/(e |R_j|) (a DA stationary point must exist), got {kappa!r}"
            )
    nb, lam, nr, nf, k = _cast(n_block, lams, n_retain, n_forget, kappa)
    alpha = nf / nr + k * lam
    if all(is_concrete(v) for v in (alpha,)) and np.any(np.asarray(alpha) < 0):
        raise ValueError("kappa * lams is below -|F|/|R|: alpha would be negative on the path")
    z_d, z_r, _ = _z(nb, alpha, lam, nr, nf)
    # on the path z_DA = -kappa |R_j| / |F| exactly
    w_da, _, _ = _exp_branches(jnp.broadcast_to(-k * nb / nf, z_d.shape))
    w_d, w_r = lambertw(z_d), lambertw(z_r)
    return Corollary1Path(
        jnp.broadcast_to(lam, z_d.shape),
        jnp.broadcast_to(alpha, z_d.shape),
        jnp.abs(w_d - w_r),
        jnp.abs(w_da - w_r),
        jnp.abs(jnp.log((1 + alpha) * nr / (nr + nf))),
    )


def descent_stability_limit(problem: OneCoordinate) -> Float[Array, "*batch"]:
    r"""The largest learning rate at which gradient descent keeps the DA minimum (proxy).

    Gradient descent :math:`w \mapsto w - \eta L_{DA}'(w)` has :math:`w_{DA}` as a linearly
    stable fixed point iff :math:`\eta L_{DA}''(w_{DA}) < 2`. At a stationary point
    :math:`(r - f)e^{-w} = \lambda w` (:math:`r = |R_j|/|R|`, :math:`f = \alpha|R_j|/|F|`), so
    :math:`L_{DA}''(w_{DA}) = (r - f)e^{-w_{DA}} + \lambda = \lambda(1 + w_{DA})` and

    .. math::

        \eta^* = \frac{2}{\lambda\,(1 + W_0(z_{DA}))},

    :math:`+\infty` on the case-2/3 boundary (:math:`w_{DA} = -1`) and NaN in case 3, where
    there is no minimum to keep. Beyond :math:`\eta^*` the iterates leave the minimum
    (period doubling, cycles, chaos or run-off).

    Args:
        problem: the setting; ``problem.lam`` is the ridge of :math:`L_{DA}` (for iterative
            DA with ridge :math:`\lambda` in each half-step pass :math:`2\lambda`).

    Returns:
        :math:`\eta^*`, with the broadcast shape of the fields.

    Example:
        >>> import ascentjax as aj
        >>> problem = aj.OneCoordinate(0.5, 0.02, block_size=0.05, n_retain=1.0, n_forget=1.0)
        >>> round(float(aj.theory.descent_stability_limit(problem)), 3)
        60.549
    """
    fields = _fields(problem)[:5]
    _, _, z_da = _z(*fields)
    lam = _cast(*fields)[2]
    w = lambertw(jnp.maximum(z_da, -1 / math.e))
    limit = 2 / (lam * (1 + w))
    return jnp.where(z_da >= -1 / math.e, limit, jnp.nan)
