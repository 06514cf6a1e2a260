"""One-coordinate theory (THEORY.md §2, paper Lemmas 2–5, Cor. 1) against independent references.

References, all written here in plain NumPy/SciPy from the *objectives* (not from the
Lambert-W formulas under test):

* per-coordinate objective :math:`L(w) = c\\,\\ell(w) + \\tfrac{\\lambda}{2}w^2` with the
  loss weight :math:`c` read off THEORY.md §1 (``_weights``), its derivative, and
  ``scipy.optimize.brentq`` on the derivative / ``minimize_scalar`` on the objective;
* ``scipy.special.lambertw`` (accurate away from the branch point) for the dense lemma
  grids, ``mpmath.lambertw`` near it.

float64 throughout (conftest enables x64). brentq is run with ``xtol=1e-14`` and the
default ``rtol = 4 eps``, so roots agree to ~1e-13 relative; ``minimize_scalar`` (golden /
Brent on the objective) only resolves the minimiser to ~sqrt(eps) ~ 1e-8, so it is
compared at 1e-6.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import optimize, special

import ascentjax as aj

NB, NR, NF, LAM = 5.0, 100.0, 10.0, 0.01


# ----------------------------------------------------------------------------- references
def _weights(nb, alpha, nr, nf):
    """Loss weights c of L = c l(w) + lam/2 w^2 on the coordinate (THEORY.md §1)."""
    c_d = (nb + alpha * nb) / (nr + nf)  # (|R_j| + |F_j|) / |D|
    c_r = nb / nr  # |R_j| / |R|
    c_da = nb / nr - alpha * nb / nf  # |R_j|/|R| - |F_j|/|F|
    return c_d, c_r, c_da


def _dexp(w, c, lam):
    return -c * math.exp(-w) + lam * w


def _dlog(w, c, lam):
    return -c * special.expit(-w) + lam * w


def _root(fun, lo, hi):
    return optimize.brentq(fun, lo, hi, xtol=1e-14, maxiter=500)


def _exp_min_ref(c, lam):
    """Minimiser of c e^{-w} + lam w^2/2 for c >= 0 (unique root of the derivative)."""
    return _root(lambda w: _dexp(w, c, lam), 0.0, max(c / lam, 1e-300))


def _exp_da_roots_ref(c, lam):
    """Stationary points of L_DA for c < 0: the derivative lam w + |c| e^{-w} is convex,
    tends to +inf on both sides and has its minimum at w* = ln(|c|/lam); there is a root
    on each side of w* when that minimum is negative."""
    ws = math.log(-c / lam)
    g = lambda w: _dexp(w, c, lam)  # noqa: E731
    if g(ws) > 0:
        return None, None
    lo = ws - 1.0
    while g(lo) < 0:
        lo -= 2 * (ws - lo)
    return _root(g, ws, 1.0), _root(g, lo, ws)


def _second_derivative(w, c, lam, h=1e-5):
    return (_dexp(w + h, c, lam) - _dexp(w - h, c, lam)) / (2 * h)


def _grid():
    """(n_block, alpha, lam, n_retain, n_forget) rows covering the three cases."""
    rows = []
    for nb, nr, nf in ((5.0, 100.0, 10.0), (50.0, 900.0, 100.0), (1.0, 30.0, 20.0)):
        for lam in (1e-3, 1e-2, 0.3):
            a0 = nf / nr
            a1 = a0 + lam * nf / (math.e * nb)
            alphas = np.concatenate(
                [
                    np.linspace(0.0, a0, 7),
                    a0 + (a1 - a0) * np.array([0.01, 0.3, 0.7, 0.99]),
                    a1 + np.array([1e-3, 0.1, 0.5]) * a0,
                ]
            )
            alphas = alphas[alphas * nb <= nf]
            rows += [(nb, a, lam, nr, nf) for a in alphas]
    return np.array(rows)


GRID = _grid()


# ----------------------------------------------------------------------------- closed forms
def test_closed_forms_vs_brentq_and_minimize_scalar() -> None:
    nb, al, lam, nr, nf = (jnp.asarray(GRID[:, i]) for i in range(5))
    sol = aj.theory.solve(aj.OneCoordinate(al, lam, block_size=nb, n_retain=nr, n_forget=nf))
    seen = set()
    for i, (nb_, a_, l_, nr_, nf_) in enumerate(GRID):
        c_d, c_r, c_da = _weights(nb_, a_, nr_, nf_)
        for got, c in ((sol.pretrained[i], c_d), (sol.oracle[i], c_r)):
            ref = _exp_min_ref(c, l_)
            assert float(got) == pytest.approx(ref, rel=1e-12, abs=1e-14)
            res = optimize.minimize_scalar(
                lambda w, c=c, l_=l_: c * math.exp(-w) + 0.5 * l_ * w * w,
                bounds=(-5.0, 50.0),
                method="bounded",
                options={"xatol": 1e-10},
            )
            assert res.x == pytest.approx(ref, abs=1e-6)
        case = int(sol.case[i])
        seen.add(case)
        if c_da >= 0:
            assert case == 1
            assert float(sol.da[i]) == pytest.approx(_exp_min_ref(c_da, l_), rel=1e-12, abs=1e-14)
            assert np.isnan(float(sol.da_max[i]))
            continue
        w_min, w_max = _exp_da_roots_ref(c_da, l_)
        if w_min is None:  # no stationary point
            assert case == 3
            assert np.isnan(float(sol.da[i])) and np.isnan(float(sol.da_max[i]))
            continue
        assert case == 2
        # root conditioning is 1/|1+W|: these grid points stay >= 1% inside the case
        assert float(sol.da[i]) == pytest.approx(w_min, rel=1e-10, abs=1e-12)
        assert float(sol.da_max[i]) == pytest.approx(w_max, rel=1e-10, abs=1e-12)
        assert _second_derivative(w_min, c_da, l_) > 0  # local minimum
        assert _second_derivative(w_max, c_da, l_) < 0  # local maximum
        res = optimize.minimize_scalar(
            lambda w, c=c_da, l_=l_: c * math.exp(-w) + 0.5 * l_ * w * w,
            bounds=(math.log(-c_da / l_), 1.0),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert res.x == pytest.approx(w_min, abs=1e-6)
    assert seen == {1, 2, 3}


def test_case3_derivative_has_no_root_and_flow_diverges() -> None:
    nb, al, lam, nr, nf = (jnp.asarray(GRID[:, i]) for i in range(5))
    case = np.asarray(
        aj.theory.solve(aj.OneCoordinate(al, lam, block_size=nb, n_retain=nr, n_forget=nf)).case
    )
    assert np.count_nonzero(case == 3) >= 9
    for (nb_, a_, l_, nr_, nf_), k in zip(GRID, case):
        if k != 3:
            continue
        c_da = _weights(nb_, a_, nr_, nf_)[2]
        # the derivative's minimum over the real line (scipy) is positive: L_DA strictly
        # increasing, so gradient flow decreases w without bound
        res = optimize.minimize_scalar(lambda w, c=c_da, l_=l_: _dexp(w, c, l_))
        assert res.fun > 0
        w = 0.0
        for _ in range(2000):  # explicit Euler on the gradient flow, step 1/(|c| e^{-w}+lam)
            w = w - _dexp(w, c_da, l_) / (abs(c_da) * math.exp(-w) + l_)
            if w < -30:
                break
        assert w < -30


def test_boundary_alpha_zero_gives_da_exactly_zero() -> None:
    # alpha = |F|/|R| exactly representable: alpha |R| == |F| in floating point
    for nb, nr, nf, lam in ((5.0, 100.0, 25.0, 0.01), (2.0, 64.0, 8.0, 0.5), (1.0, 4.0, 1.0, 1e-4)):
        a0, _ = aj.theory.case_boundaries(
            aj.OneCoordinate(0.0, lam, block_size=nb, n_retain=nr, n_forget=nf)
        )
        assert float(a0) == nf / nr
        sol = aj.theory.solve(
            aj.OneCoordinate(nf / nr, lam, block_size=nb, n_retain=nr, n_forget=nf)
        )
        assert float(sol.da) == 0.0 and int(sol.case) == 1
    # alpha = fl(|F|/|R|) not exact in binary: the rounding is snapped, w_DA = 0 under
    # eager, jit and vmap alike (with or without FMA contraction)
    nb, nr, nf = (
        jnp.asarray(v) for v in ((50.0, 5.0, 3.0), (900.0, 100.0, 70.0), (100.0, 10.0, 30.0))
    )
    a = nf / nr
    problems = aj.OneCoordinate(a, jnp.full(3, 0.01), block_size=nb, n_retain=nr, n_forget=nf)
    for f in (aj.theory.solve, jax.jit(aj.theory.solve)):
        sol = f(problems)
        assert np.all(np.asarray(sol.da) == 0.0) and np.all(np.asarray(sol.case) == 1)
    sol = jax.vmap(aj.theory.solve)(problems)
    assert np.all(np.asarray(sol.da) == 0.0) and np.all(np.asarray(sol.case) == 1)
    # one ulp-scale step further is a genuine case 2 (not swallowed by the snapping)
    sol = aj.theory.solve(
        aj.OneCoordinate(0.1 * (1 + 1e-14), 0.01, block_size=5.0, n_retain=100.0, n_forget=10.0)
    )
    assert int(sol.case) == 2 and float(sol.da) < 0


def test_case2_case3_boundary_vs_independent_bisection() -> None:
    for nb, nr, nf, lam in ((5.0, 100.0, 10.0, 0.01), (50.0, 900.0, 100.0, 0.003)):
        # independent: the alpha at which min_w L_DA'(w) crosses zero (scipy brentq over alpha)
        def min_derivative(a, nb=nb, nr=nr, nf=nf, lam=lam):
            c = _weights(nb, a, nr, nf)[2]
            res = optimize.minimize_scalar(
                lambda w: _dexp(w, c, lam),
                bounds=(-60.0, 5.0),
                method="bounded",
                options={"xatol": 1e-12},
            )
            return res.fun

        a_ref = optimize.brentq(min_derivative, nf / nr * (1 + 1e-9), nf / nr * 3, xtol=1e-14)
        a0, a1 = aj.theory.case_boundaries(
            aj.OneCoordinate(0.0, lam, block_size=nb, n_retain=nr, n_forget=nf)
        )
        assert float(a0) == pytest.approx(nf / nr, rel=1e-15)
        # the minimum of the derivative is quadratic in w but linear in alpha: brentq on
        # a minimum located to ~1e-6 in w still gives alpha to ~1e-10 relative
        assert float(a1) == pytest.approx(a_ref, rel=1e-8)
        below = aj.theory.solve(
            aj.OneCoordinate(float(a1) * (1 - 1e-9), lam, block_size=nb, n_retain=nr, n_forget=nf)
        )
        above = aj.theory.solve(
            aj.OneCoordinate(float(a1) * (1 + 1e-9), lam, block_size=nb, n_retain=nr, n_forget=nf)
        )
        assert int(below.case) == 2 and int(above.case) == 3
        # at the boundary both branches meet at -1 (square-root singularity: the 1-ulp
        # rounding of z ~ 1e-16 moves W by ~sqrt(2e * 1e-16) ~ 2e-8)
        at = aj.theory.solve(aj.OneCoordinate(a1, lam, block_size=nb, n_retain=nr, n_forget=nf))
        if int(at.case) == 2:
            assert float(at.da) == pytest.approx(-1.0, abs=1e-6)
            assert float(at.da_max) == pytest.approx(-1.0, abs=1e-6)
        else:
            assert int(at.case) == 3


def test_near_branch_point_vs_mpmath() -> None:
    nb, nr, nf, lam = 5.0, 100.0, 10.0, 0.01
    _, a1 = aj.theory.case_boundaries(
        aj.OneCoordinate(0.0, lam, block_size=nb, n_retain=nr, n_forget=nf)
    )
    alphas = float(a1) * (1 - np.array([1e-4, 1e-6, 1e-8]))
    sol = aj.theory.solve(
        aj.OneCoordinate(jnp.asarray(alphas), lam, block_size=nb, n_retain=nr, n_forget=nf)
    )
    z = (1 - alphas * nr / nf) * nb / (lam * nr)
    for i, zi in enumerate(z):
        with mpmath.workdps(40):
            w0 = float(mpmath.lambertw(mpmath.mpf(zi), 0))
            wm = float(mpmath.lambertw(mpmath.mpf(zi), -1))
        # conditioning 1/|1+W| in z and the rounding of z itself (~1e-16 * 1/|1+W|)
        tol = 1e-13 / abs(1 + w0)
        assert float(sol.da[i]) == pytest.approx(w0, abs=tol)
        assert float(sol.da_max[i]) == pytest.approx(wm, abs=tol)


# ----------------------------------------------------------------------------- lemmas
def _dense():
    g = np.random.default_rng(0)
    n = 20000
    nb = np.round(10 ** g.uniform(0, 2, n))
    nr = nb + np.round(10 ** g.uniform(0, 3.5, n))
    nf = np.round(10 ** g.uniform(0, 3, n))
    lam = 10 ** g.uniform(-5, 1, n)
    return nb, nr, nf, lam, g


def _w0(z):
    return special.lambertw(z, 0).real


def test_lemma3_window_is_exactly_the_ordering_set() -> None:
    nb, nr, nf, lam, g = _dense()
    lo, hi = (
        np.asarray(v)
        for v in aj.theory.lemma3_window(
            aj.OneCoordinate(0.0, 1.0, block_size=1.0, n_retain=nr, n_forget=nf)
        )
    )
    assert np.allclose(lo, nf**2 / (nr * (nf + nr + nf)), rtol=1e-15)
    assert np.array_equal(hi, nf / nr)
    # alpha uniformly over [0, 1.5 hi], plus the window end points themselves
    alpha = np.concatenate([g.uniform(0, 1.5, nb.size) * hi, lo, hi])
    rep = lambda v: np.concatenate([v, v, v])  # noqa: E731
    nb, nr, nf, lam, lo, hi = map(rep, (nb, nr, nf, lam, lo, hi))
    ok = alpha * nb <= nf
    c_d, c_r, c_da = _weights(nb, alpha, nr, nf)
    wd, wr = _w0(c_d / lam), _w0(c_r / lam)
    zda = c_da / lam
    wda = np.where(zda >= -1 / math.e, _w0(np.maximum(zda, -1 / math.e)), -np.inf)
    # rounding only: at the window ends z_DA = z_D or z_D = z_R in exact arithmetic
    tol = 1e-12 * np.maximum(1.0, np.abs(wd))
    ordered = (wda <= wd + tol) & (wd <= wr + tol)
    inside = (alpha >= lo) & (alpha <= hi)
    assert np.all(ordered[ok & inside]), "Lemma 3 violated inside its window"
    strict_out = ok & ((alpha < lo * (1 - 1e-9)) | (alpha > hi * (1 + 1e-9)))
    strict_ordered = (wda < wd - tol) & (wd < wr - tol)
    assert not np.any(strict_ordered[strict_out]), "ordering outside the window"
    # the library's own solution agrees on a subsample
    sol = aj.theory.solve(
        aj.OneCoordinate(alpha[ok], lam[ok], block_size=nb[ok], n_retain=nr[ok], n_forget=nf[ok])
    )
    assert np.allclose(np.asarray(sol.pretrained), wd[ok], rtol=1e-13, atol=1e-15)
    assert np.allclose(np.asarray(sol.oracle), wr[ok], rtol=1e-13, atol=1e-15)


def test_lemma4_bound_holds_on_dense_grid() -> None:
    nb, nr, nf, lam, g = _dense()
    alpha = np.minimum(g.uniform(0, 3, nb.size) * nf / nr, nf / nb)
    c_d, c_r, _ = _weights(nb, alpha, nr, nf)
    gap = np.abs(_w0(c_d / lam) - _w0(c_r / lam))
    bound = np.asarray(
        aj.theory.lemma4_bound(
            aj.OneCoordinate(alpha, 1.0, block_size=1.0, n_retain=nr, n_forget=nf)
        )
    )
    assert np.allclose(bound, np.abs(np.log((1 + alpha) * nr / (nr + nf))), rtol=1e-14, atol=0)
    # 1e-13 absolute: the rounding of two W values of size <= ~14 (never loosened beyond)
    assert np.all(gap <= bound + 1e-13), float(np.max(gap - bound))
    sol = aj.theory.solve(aj.OneCoordinate(alpha, lam, block_size=nb, n_retain=nr, n_forget=nf))
    libgap = np.abs(np.asarray(sol.pretrained - sol.oracle))
    assert np.all(libgap <= bound + 1e-13)


def test_lemma5_bound_holds_on_dense_grid_both_branches() -> None:
    nb, nr, nf, lam, g = _dense()
    a0 = nf / nr
    a1 = a0 + lam * nf / (math.e * nb)
    alpha = a0 + g.uniform(0, 1, nb.size) * (a1 - a0)  # alpha >= |F|/|R|, case 2 (or 1 at a0)
    ok = alpha * nb <= nf
    nb, nr, nf, lam, alpha = (v[ok] for v in (nb, nr, nf, lam, alpha))
    c_r, c_da = _weights(nb, alpha, nr, nf)[1:]
    zda = np.maximum(c_da / lam, -1 / math.e)
    wr = _w0(c_r / lam)
    w0, wm = _w0(zda), special.lambertw(np.minimum(zda, -1e-300), -1).real
    bound = np.asarray(
        aj.theory.lemma5_bound(aj.OneCoordinate(0.0, lam, block_size=nb, n_retain=nr))
    )
    assert np.allclose(bound, wr, rtol=1e-13)
    tol = 1e-12 * np.maximum(1, wr)
    assert np.all(np.abs(wr - w0) >= bound - tol)
    assert np.all(np.abs(wr - wm) >= bound - tol)
    sol = aj.theory.solve(aj.OneCoordinate(alpha, lam, block_size=nb, n_retain=nr, n_forget=nf))
    has = np.asarray(sol.case) != 3
    assert has.mean() > 0.99
    assert np.all(np.abs(np.asarray(sol.oracle - sol.da))[has] >= bound[has] - tol[has])
    two = np.asarray(sol.case) == 2
    assert np.all(np.abs(np.asarray(sol.oracle - sol.da_max))[two] >= bound[two] - tol[two])


def test_corollary1_along_the_path() -> None:
    nb, nr, nf = 5.0, 100.0, 10.0
    lams = 10.0 ** -np.arange(1, 13)
    for kappa in (-1.0, 0.0, 0.5):
        p = aj.theory.corollary1_path(
            aj.OneCoordinate(0.0, 1.0, block_size=nb, n_retain=nr, n_forget=nf),
            jnp.asarray(lams),
            kappa,
        )
        alpha = nf / nr + kappa * lams
        assert np.allclose(np.asarray(p.alpha), alpha, rtol=1e-15)
        c_d, c_r, c_da = _weights(nb, alpha, nr, nf)
        wd, wr = _w0(c_d / lams), _w0(c_r / lams)
        wda = _w0(c_da / lams)
        # independent values (scipy W of the objective's own weights)
        assert np.allclose(np.asarray(p.dist_pretrained_oracle), np.abs(wd - wr), atol=1e-12)
        # z_DA = c_da/lam loses digits to cancellation in c_da (|c_da| ~ kappa lam |R_j|/|F|)
        assert np.allclose(np.asarray(p.dist_da_oracle), np.abs(wda - wr), rtol=1e-6)
        d_do = np.asarray(p.dist_pretrained_oracle)
        d_dao = np.asarray(p.dist_da_oracle)
        assert np.all(d_do <= np.asarray(p.lemma4) + 1e-13)
        assert d_do[-1] < 1e-9  # -> 0
        assert np.all(np.diff(d_dao) > 0) and d_dao[-1] > 20  # -> infinity (~ ln(1/lam))


# ----------------------------------------------------------------------------- logistic
def test_logistic_solutions_vs_brentq_and_uniqueness() -> None:
    rows = GRID[::3]
    nb, al, lam, nr, nf = (jnp.asarray(rows[:, i]) for i in range(5))
    sol = aj.theory.solve(
        aj.OneCoordinate(al, lam, block_size=nb, n_retain=nr, n_forget=nf, loss="logistic")
    )
    assert np.all(np.asarray(sol.case) == 1) and np.all(np.isnan(np.asarray(sol.da_max)))
    for i, (nb_, a_, l_, nr_, nf_) in enumerate(rows):
        for got, c in zip(
            (sol.pretrained[i], sol.oracle[i], sol.da[i]), _weights(nb_, a_, nr_, nf_)
        ):
            g = lambda w, c=c, l_=l_: _dlog(w, c, l_)  # noqa: E731
            b = abs(c) / l_ + 1.0
            ref = _root(g, -b, b)
            assert float(got) == pytest.approx(ref, rel=1e-12, abs=1e-13)
            # exactly one sign change of the derivative on a fine grid (global minimum)
            wgrid = np.linspace(-b, b, 20001)
            sign = np.sign(-c * special.expit(-wgrid) + l_ * wgrid)
            sign = sign[sign != 0]
            assert np.count_nonzero(np.diff(sign)) == 1


def test_logistic_da_with_strong_ascent_many_regimes() -> None:
    # |c| >> 4 lam: the derivative is non-monotone, still exactly one root
    z = jnp.asarray([-1e4, -300.0, -10.0, -4.0, -0.5, 0.0, 0.3, 7.0, 1e5])
    w = np.asarray(aj.theory.stationary_margin(z, loss="logistic"))
    for zi, wi in zip(np.asarray(z), w):
        ref = _root(lambda v, zi=zi: v - zi * special.expit(-v), -abs(zi) - 1, abs(zi) + 1)
        assert wi == pytest.approx(ref, rel=1e-13, abs=1e-14)
    np.testing.assert_allclose(
        np.asarray(aj.theory.stationary_margin(jnp.asarray([0.5, 3.0]))),
        _w0(np.array([0.5, 3.0])),
        rtol=1e-14,
    )


# ----------------------------------------------------------------------------- transforms
def test_jit_vmap_match_eager_and_broadcast() -> None:
    alphas = jnp.linspace(0.0, 0.2, 9)
    eager = aj.theory.solve(aj.OneCoordinate(alphas, LAM, block_size=NB, n_retain=NR, n_forget=NF))
    jitted = jax.jit(aj.theory.solve)(
        aj.OneCoordinate(alphas, LAM, block_size=NB, n_retain=NR, n_forget=NF)
    )
    vm = jax.vmap(
        lambda a: aj.theory.solve(aj.OneCoordinate(a, LAM, block_size=NB, n_retain=NR, n_forget=NF))
    )(alphas)
    # jit/vmap may fuse differently: equal up to a few ulp (NaNs in the same places)
    for a, b, c in zip(eager, jitted, vm):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-15, atol=1e-15)
        np.testing.assert_allclose(np.asarray(a), np.asarray(c), rtol=1e-15, atol=1e-15)
    f = jax.jit(
        lambda a: (
            aj.theory.solve(
                aj.OneCoordinate(a, LAM, block_size=NB, n_retain=NR, n_forget=NF, loss="logistic")
            ).da
        )
    )
    np.testing.assert_allclose(
        np.asarray(f(alphas)),
        np.asarray(
            aj.theory.solve(
                aj.OneCoordinate(
                    alphas, LAM, block_size=NB, n_retain=NR, n_forget=NF, loss="logistic"
                )
            ).da
        ),
        rtol=1e-15,
    )
    grid = aj.theory.solve(
        aj.OneCoordinate(
            alphas[:, None], jnp.array([0.01, 0.1]), block_size=NB, n_retain=NR, n_forget=NF
        )
    )
    assert grid.case.dtype == jnp.int32
    for j, lam in enumerate((0.01, 0.1)):  # each column is the solution at that lambda
        col = aj.theory.solve(
            aj.OneCoordinate(alphas, lam, block_size=NB, n_retain=NR, n_forget=NF)
        )
        for v, ref in zip(grid, col, strict=True):
            np.testing.assert_allclose(np.asarray(v)[:, j], np.asarray(ref), rtol=1e-15)
    # w_R does not depend on alpha, but every field has the broadcast input shape
    np.testing.assert_array_equal(np.asarray(eager.oracle), np.full(9, float(eager.oracle[0])))
    problem = aj.OneCoordinate(0.0, 1.0, block_size=NB, n_retain=NR, n_forget=NF)
    lo, hi = jax.jit(aj.theory.lemma3_window)(problem)
    # Lemma 3's window [|F|^2/(|R|(|F|+|D|)), |F|/|R|] with |D| = |R| + |F|
    np.testing.assert_allclose([lo, hi], [NF**2 / (NR * (2 * NF + NR)), NF / NR], rtol=1e-15)
    p = jax.jit(aj.theory.corollary1_path)(problem, jnp.array([0.1, 0.01]), 0.2)
    q = aj.theory.corollary1_path(problem, jnp.array([0.1, 0.01]), 0.2)
    for v, ref in zip(p, q, strict=True):
        np.testing.assert_allclose(np.asarray(v), np.asarray(ref), rtol=1e-14)


@pytest.mark.parametrize("loss", ["exp", "logistic"])
def test_grad_vs_finite_differences(loss: str) -> None:
    def f(a, lam):
        sol = aj.theory.solve(
            aj.OneCoordinate(a, lam, block_size=NB, n_retain=NR, n_forget=NF, loss=loss)
        )
        return jnp.stack([sol.pretrained, sol.oracle, sol.da])

    fwd = jax.jit(jax.jacfwd(f, argnums=(0, 1)))
    rev = jax.jit(jax.jacrev(f, argnums=(0, 1)))  # reverse mode, i.e. grad per output
    fj = jax.jit(f)
    for alpha in (0.05, 0.104):  # case 1 and case 2 (exp)
        ga, gl = fwd(alpha, LAM)
        ra, rl = rev(alpha, LAM)
        np.testing.assert_allclose(np.asarray(ra), np.asarray(ga), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(rl), np.asarray(gl), rtol=1e-12)
        h = 1e-7
        fd_a = (fj(alpha + h, LAM) - fj(alpha - h, LAM)) / (2 * h)
        fd_l = (fj(alpha, LAM + 1e-9) - fj(alpha, LAM - 1e-9)) / 2e-9
        # central differences: truncation ~ h^2 (third derivative), rounding ~ eps/h
        np.testing.assert_allclose(np.asarray(ga), np.asarray(fd_a), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(np.asarray(gl), np.asarray(fd_l), rtol=1e-6, atol=1e-6)


def test_grad_is_finite_in_case3_and_for_da_max() -> None:
    g = jax.grad(
        lambda a: (
            aj.theory.solve(
                aj.OneCoordinate(a, LAM, block_size=NB, n_retain=NR, n_forget=NF)
            ).oracle
        )
    )(0.5)
    assert float(g) == 0.0
    gm = jax.grad(
        lambda a: (
            aj.theory.solve(
                aj.OneCoordinate(a, LAM, block_size=NB, n_retain=NR, n_forget=NF)
            ).da_max
        )
    )(0.104)
    h = 1e-8
    fd = (
        aj.theory.solve(
            aj.OneCoordinate(0.104 + h, LAM, block_size=NB, n_retain=NR, n_forget=NF)
        ).da_max
        - aj.theory.solve(
            aj.OneCoordinate(0.104 - h, LAM, block_size=NB, n_retain=NR, n_forget=NF)
        ).da_max
    ) / (2 * h)
    assert float(gm) == pytest.approx(float(fd), rel=1e-5)


def test_float32_follows_input_dtype() -> None:
    sol = aj.theory.solve(
        aj.OneCoordinate(
            jnp.float32(0.05),
            jnp.float32(LAM),
            block_size=NB,
            n_retain=jnp.float32(NR),
            n_forget=jnp.float32(NF),
        )
    )
    assert sol.pretrained.dtype == jnp.float32
    assert float(sol.oracle) == pytest.approx(_w0(5.0), rel=1e-6)
    log = aj.theory.stationary_margin(jnp.float32(5.0), loss="logistic")
    assert log.dtype == jnp.float32


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(block_size=-1.0), "block_size"),
        (dict(block_size=0.0), "block_size"),
        (dict(alpha=-0.1), "alpha"),
        (dict(lam=0.0), "lam"),
        (dict(lam=-1.0), "lam"),
        (dict(n_retain=-5.0), "n_retain"),
        (dict(n_forget=0.0), "n_forget"),
        (dict(n_retain=2.0), "n_retain"),  # |R| < |R_j|
        (dict(alpha=3.0), "n_forget"),  # |F| < alpha |R_j|
        (dict(alpha=np.array([0.1, 0.2]), lam=np.array([0.1, 0.2, 0.3])), "shape"),
        (dict(alpha=float("nan")), "alpha"),
    ],
)
def test_bad_input_raises_naming_the_argument(kwargs: dict, name: str) -> None:
    args = dict(block_size=NB, alpha=0.05, lam=LAM, n_retain=NR, n_forget=NF) | kwargs
    with pytest.raises(ValueError, match=name):
        aj.theory.solve(aj.OneCoordinate(**args))


def test_bad_input_other_functions() -> None:
    with pytest.raises(ValueError, match="loss"):
        aj.theory.solve(
            aj.OneCoordinate(0.05, LAM, block_size=NB, n_retain=NR, n_forget=NF, loss="hinge")
        )
    with pytest.raises(ValueError, match="loss"):
        aj.theory.stationary_margin(1.0, loss="square")
    with pytest.raises(ValueError, match="n_forget"):
        aj.theory.lemma3_window(
            aj.OneCoordinate(0.0, 1.0, block_size=1.0, n_retain=NR, n_forget=-1.0)
        )
    with pytest.raises(ValueError, match="alpha"):
        aj.theory.lemma4_bound(
            aj.OneCoordinate(-0.5, 1.0, block_size=1.0, n_retain=NR, n_forget=NF)
        )
    with pytest.raises(ValueError, match="lam"):
        aj.theory.lemma5_bound(aj.OneCoordinate(0.0, 0.0, block_size=NB, n_retain=NR))
    with pytest.raises(ValueError, match="lam"):
        aj.theory.case_boundaries(
            aj.OneCoordinate(0.0, -1.0, block_size=NB, n_retain=NR, n_forget=NF)
        )
    with pytest.raises(ValueError, match="kappa"):
        aj.theory.corollary1_path(
            aj.OneCoordinate(0.0, 1.0, block_size=NB, n_retain=NR, n_forget=NF),
            jnp.array([0.1]),
            10.0,
        )
    with pytest.raises(ValueError, match="lams"):
        aj.theory.corollary1_path(
            aj.OneCoordinate(0.0, 1.0, block_size=NB, n_retain=NR, n_forget=NF),
            jnp.array([0.1, 0.0]),
        )
    with pytest.raises(ValueError, match="alpha"):
        aj.theory.corollary1_path(
            aj.OneCoordinate(0.0, 1.0, block_size=NB, n_retain=NR, n_forget=NF),
            jnp.array([1.0]),
            -1.0,
        )
    with pytest.raises(ValueError, match="shape"):
        aj.theory.lemma4_bound(
            aj.OneCoordinate(np.ones(3), 1.0, block_size=1.0, n_retain=np.ones(2) * NR, n_forget=NF)
        )
    with pytest.raises(TypeError):
        aj.theory.solve(aj.OneCoordinate("0.1", LAM, block_size=NB, n_retain=NR, n_forget=NF))


def test_descent_stability_limit_is_where_the_da_minimum_loses_stability() -> None:
    from scipy.special import lambertw as sp_lambertw

    # r = 0.05, f = alpha r, ridge of L_DA 0.02: eta* = 2 / L''(w_DA), L'' = lam (1 + w_DA)
    r, lam = 0.05, 0.02
    fr = np.array([0.0, 0.5, 1.0, 1.1, 1.2])
    p = aj.OneCoordinate(jnp.asarray(fr), lam, block_size=r, n_retain=1.0, n_forget=1.0)
    got = np.asarray(aj.theory.descent_stability_limit(p))
    z = (r - fr * r) / lam
    w = np.real(sp_lambertw(np.maximum(z, -1 / np.e), 0))
    want = np.where(z >= -1 / np.e, 2 / (lam * (1 + w)), np.nan)
    np.testing.assert_allclose(got, want, rtol=1e-12)  # closed form in float64 both sides
    assert np.isnan(got[-1])  # case 3: no minimum
    # and it is a genuine threshold of the gradient-descent map on L_DA
    eta = float(got[1])
    f = 0.5 * r

    def step(w: float, e: float) -> float:
        return w - e * ((f - r) * np.exp(-w) + lam * w)

    for e, stable in ((0.95 * eta, True), (1.05 * eta, False)):
        wv = float(w[1]) + 1e-6
        for _ in range(20_000):
            wv = step(wv, e)
            if abs(wv) > 40:  # left the minimum for good (run-off)
                break
        assert (abs(wv - w[1]) < 1e-6) == stable
