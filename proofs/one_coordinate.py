"""One correlated coordinate (paper Sec. 5.1.1, Lemmas 2-5, Cor. 1).

Derived here with sympy, not typed in:

* the per-coordinate stationarity equation ``w e^w = z`` and its Lambert-W solutions
  for the pretrained, oracle and DA objectives;
* the branch cases of ``w_DA`` from the range of ``g(w) = w e^w`` on both sides of its
  minimum, and their translation into conditions on ``alpha``;
* Lemma 3's window as the solution set of the two linear inequalities;
* Lemma 4 from ``W(x) = ln x - ln W(x)``; Lemma 5 from the sign of ``z_DA``;
* Corollary 1 as sympy limits along the path ``alpha = |F|/|R| + kappa * lambda``.

Numerically: the derived closed forms (lambdified, SciPy/mpmath Lambert W) against
the library's one-coordinate theory (``ascentjax.theory.solve`` and friends) and
against gradient descent on the one-coordinate objectives.

The random grid respects the model: ``|F_j| = alpha |R_j| <= |F|`` (the forget samples of
coordinate ``j`` are part of ``F``), ``|R_j| <= |R|``, and it reaches all three branch cases.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import sympy as sp
from sympy.calculus.util import function_range

import ascentjax as aj

from ._report import CheckResult, Recorder, enable_x64, fmt_point
from ._sym import lambdify_real, linear_threshold, mp_lambertw, rng

__all__ = ["check", "derivation"]

SEC = "Sec. 5.1.1"

# symbols: counts |R|, |F|, |R_j|, forget ratio alpha, ridge lambda; |D| = |R| + |F|
w = sp.Symbol("w", real=True)
alpha, lam, R, F, Rj, kappa = sp.symbols("alpha lambda R F R_j kappa", positive=True)
D = R + F
E = sp.E


def _objectives() -> dict[str, sp.Expr]:
    """Per-coordinate objectives: every sample on coordinate j has margin w (y x_j = 1)."""
    Fj = alpha * Rj
    loss = sp.exp(-w)
    ridge = lam / 2 * w**2
    return {
        "D": (Rj + Fj) * loss / D + ridge,
        "R": Rj * loss / R + ridge,
        "DA": Rj * loss / R - Fj * loss / F + ridge,
    }


STATED_Z = {
    "D": (1 + alpha) * Rj / (lam * D),
    "R": Rj / (lam * R),
    "DA": (1 - alpha * R / F) * Rj / (lam * R),
}


def derivation() -> dict[str, sp.Expr]:
    """The derived stationary points (principal branch) keyed by objective."""
    out = {}
    for key, L in _objectives().items():
        sols = sp.solve(sp.diff(L, w), w)
        out[key] = sols[0]
    return out


def _grid(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    g = rng(seed)
    Rv = np.round(10 ** g.uniform(2, 3.5, n))
    Fv = np.round(10 ** g.uniform(0.7, 2.7, n))
    Rjv = np.maximum(1.0, np.round(Rv * 10 ** g.uniform(-2.5, -0.5, n)))
    lamv = 10 ** g.uniform(-3, 0, n)
    # alpha spread around the interesting thresholds F/R and F^2/(R(F+D)), within the model:
    # the alpha |R_j| forget samples of the coordinate are part of F
    alv = np.minimum((Fv / Rv) * 10 ** g.uniform(-2, 0.7, n), Fv / Rjv)
    return {"R": Rv, "F": Fv, "R_j": Rjv, "lambda": lamv, "alpha": alv}


def check(fast: bool = True) -> CheckResult:
    """Run every one-coordinate claim; ``fast`` uses the small grid."""
    enable_x64()
    rec = Recorder("one_coordinate")
    n = 400 if fast else 20000
    objs = _objectives()

    # ---------------------------------------------------------------- stationarity
    for key, L in objs.items():
        sols = sp.solve(sp.diff(L, w), w)
        ok = len(sols) == 1 and isinstance(sols[0], sp.LambertW)
        arg = sols[0].args[0] if ok else sp.nan
        rec.symbolic(
            f"stationary.w_{key}",
            SEC,
            arg - STATED_Z[key] if ok else sp.Integer(1),
            f"solve(dL_{key}/dw = 0) = W(z) with the stated z_{key}",
            latex=rf"w_{{{key}}} = {sp.latex(sp.LambertW(sp.factor(STATED_Z[key])))}",
        )
    # second order: L'' at a stationary point equals lambda (1 + w): min iff w > -1
    c = sp.Symbol("c", real=True)
    Lg = c * sp.exp(-w) + lam / 2 * w**2
    second = sp.diff(Lg, w, 2).subs(c, lam * w * sp.exp(w))  # c e^{-w} = lambda w
    rec.symbolic(
        "stationary.second_order",
        SEC,
        second - lam * (1 + w),
        "L''(w*) = lambda (1 + w*): W0 (> -1) is a minimum, W-1 (< -1) a maximum",
        latex=r"L''(w^\star) = \lambda\,(1 + w^\star)",
    )

    # ---------------------------------------------------------------- branch cases
    g = w * sp.exp(w)
    crit = sp.solve(sp.diff(g, w), w)
    left = function_range(g, w, sp.Interval(-sp.oo, crit[0]))
    right = function_range(g, w, sp.Interval(crit[0], sp.oo))
    one = sp.Complement(right, left)
    two = sp.Intersection(left, right)
    none = sp.Complement(sp.Reals, sp.Union(left, right))
    rec.equal(
        "branch.case1_set",
        SEC,
        one,
        sp.Interval(0, sp.oo),
        "z >= 0: one solution (range of w e^w right of w=-1 minus range left of it)",
    )
    rec.equal(
        "branch.case2_set",
        SEC,
        two,
        sp.Interval.Ropen(-sp.exp(-1), 0),
        "-1/e <= z < 0: two solutions (W0 and W-1, equal at z = -1/e)",
    )
    rec.equal(
        "branch.case3_set",
        SEC,
        none,
        sp.Interval.open(-sp.oo, -sp.exp(-1)),
        "z < -1/e: no real solution (no stationary point of L_DA)",
    )
    zda = STATED_Z["DA"]
    d1, t1 = linear_threshold(zda, alpha)
    rec.equal(
        "branch.case1_alpha",
        SEC,
        (d1, sp.simplify(t1 - F / R)),
        ("<=", 0),
        "z_DA >= 0  <=>  alpha <= |F|/|R|",
        latex=rf"z_{{DA}} \ge 0 \iff \alpha \le {sp.latex(t1)}",
    )
    d2, t2 = linear_threshold(zda + sp.exp(-1), alpha)
    rec.equal(
        "branch.case2_alpha",
        SEC,
        (d2, sp.simplify(t2 - (F / R + lam * F / (E * Rj)))),
        ("<=", 0),
        "z_DA >= -1/e  <=>  alpha <= |F|/|R| + lambda |F| / (e |R_j|)",
        latex=rf"z_{{DA}} \ge -1/e \iff \alpha \le {sp.latex(sp.expand(t2))}",
    )
    rec.equal(
        "branch.alpha_eq_F_over_R",
        SEC,
        sp.LambertW(sp.simplify(zda.subs(alpha, F / R))),
        sp.Integer(0),
        "alpha = |F|/|R| gives z_DA = 0 and w_DA = W0(0) = 0 exactly",
    )

    # ---------------------------------------------------------------- Lemma 3
    zD, zR = STATED_Z["D"], STATED_Z["R"]
    d_lo, lo = linear_threshold(zD - zda, alpha)  # w_DA <= w_D  <=>  z_DA <= z_D (W0 increasing)
    d_hi, hi = linear_threshold(zR - zD, alpha)  # w_D <= w_R  <=>  z_D <= z_R
    rec.equal(
        "lemma3.window",
        "Lemma 3",
        (d_lo, sp.simplify(lo - F**2 / (R * (F + D))), d_hi, sp.simplify(hi - F / R)),
        (">=", 0, "<=", 0),
        "{alpha: z_DA <= z_D <= z_R} = [|F|^2/(|R|(|F|+|D|)), |F|/|R|]",
        latex=rf"\{{\alpha: w_{{DA}} \le w_D \le w_R\}} = "
        rf"\left[{sp.latex(sp.factor(lo))},\ {sp.latex(hi)}\right]",
    )
    # W0 is increasing on [-1/e, oo): W0'(z) = W/(z(1+W)) = 1/(e^W (1+W)) > 0
    zz = sp.Symbol("z", positive=True)
    dW = sp.diff(sp.LambertW(zz), zz)
    u = sp.Symbol("u", positive=True)
    rec.symbolic(
        "lemma3.W0_increasing",
        "Lemma 3",
        dW.subs(sp.LambertW(zz), u).subs(zz, u * sp.exp(u)) - 1 / (sp.exp(u) * (1 + u)),
        "dW0/dz = 1/(e^W (1+W)) > 0, so the ordering of the w's is that of the z's",
    )

    # ---------------------------------------------------------------- Lemma 4
    x = sp.Symbol("x", positive=True)
    rec.symbolic(
        "lemma4.W_log_identity",
        "Lemma 4",
        sp.expand_log(sp.log(u * sp.exp(u)), force=True) - sp.log(u) - u,
        "W(x) = ln x - ln W(x) for x > 0 (x = u e^u, u = W(x) > 0)",
        latex=r"W(x) = \ln x - \ln W(x)",
    )
    rec.symbolic(
        "lemma4.ratio",
        "Lemma 4",
        zD / zR - (1 + alpha) * R / D,
        "z_D / z_R = (1+alpha)|R|/|D|, so w_D - w_R = ln((1+alpha)|R|/|D|) - ln(w_D/w_R)",
        latex=rf"\frac{{z_D}}{{z_R}} = {sp.latex(sp.simplify(zD / zR))}",
    )
    del x

    # ---------------------------------------------------------------- Lemma 5
    # for alpha >= |F|/|R|, z_DA <= 0 (branch.case1_alpha); W0 maps [-1/e, 0] onto [-1, 0]
    # (the range of w e^w on [-1, 0]) and W-1 maps [-1/e, 0) into (-oo, -1], so w_DA <= 0
    # and |w_R - w_DA| = w_R - w_DA >= w_R = W0(|R_j|/(lambda |R|)).
    rec.equal(
        "lemma5.w_DA_nonpositive",
        "Lemma 5",
        (function_range(g, w, sp.Interval(-1, 0)), left),
        (sp.Interval(-sp.exp(-1), 0), sp.Interval.Ropen(-sp.exp(-1), 0)),
        "w e^w maps [-1, 0] onto [-1/e, 0] and (-oo, -1] onto [-1/e, 0): every real solution "
        "of w e^w = z_DA <= 0 is <= 0, so |w_R - w_DA| >= w_R",
        latex=r"\alpha \ge \tfrac{|F|}{|R|} \Rightarrow z_{DA} \le 0 \Rightarrow w_{DA} \le 0 "
        r"\Rightarrow |w_R - w_{DA}| \ge W_0\big(\tfrac{|R_j|}{\lambda|R|}\big)",
    )

    # ---------------------------------------------------------------- Corollary 1
    path = {alpha: F / R + kappa * lam}
    bound4 = sp.log((1 + alpha) * R / D).subs(path)
    lim4 = sp.limit(bound4, lam, 0, "+")
    rec.equal(
        "cor1.DR_gap_to_zero",
        "Cor. 1",
        lim4,
        sp.Integer(0),
        "lim_{lambda->0} ln((1+alpha)|R|/|D|) = 0 on alpha = |F|/|R| + kappa lambda "
        "(Lemma 4 bound -> |w_D - w_R| -> 0)",
        latex=rf"\lim_{{\lambda\to0^+}} {sp.latex(bound4)} = {sp.latex(lim4)}",
    )
    zda_path = sp.simplify(zda.subs(path))
    rec.symbolic(
        "cor1.zDA_constant",
        "Cor. 1",
        sp.diff(zda_path, lam),
        f"on the path z_DA = {zda_path} does not depend on lambda (w_DA stays bounded)",
    )
    # w_R = W0(z_R) >= ln z_R - ln ln z_R for z_R >= e, and that lower bound -> oo
    lower = sp.log(zR) - sp.log(sp.log(zR))
    limR = sp.limit(lower, lam, 0, "+")
    rec.equal(
        "cor1.DA_gap_to_infinity",
        "Cor. 1",
        limR,
        sp.oo,
        "w_R >= ln z_R - ln ln z_R -> oo as lambda -> 0 while w_DA = W(const): |w_DA - w_R| -> oo",
        latex=rf"\lim_{{\lambda\to0^+}} \left({sp.latex(lower)}\right) = \infty",
    )

    # ---------------------------------------------------------------- numerics
    G = _grid(n)
    args = (R, F, Rj, lam, alpha)
    vals = (G["R"], G["F"], G["R_j"], G["lambda"], G["alpha"])
    ref = {k: lambdify_real(args, sp.LambertW(STATED_Z[k])) for k in ("D", "R")}
    z_fn = {k: sp.lambdify(args, STATED_Z[k]) for k in STATED_Z}
    zv = {k: np.asarray(z_fn[k](*vals), dtype=float) for k in STATED_Z}
    # z_DA = (1 - alpha|R|/|F|) |R_j|/(lambda|R|) cancels for alpha near |F|/|R|: the reference
    # is evaluated in 50-digit arithmetic from the float inputs and rounded once
    zv["DA"] = _z_da_exact(*vals)
    wD, wR = ref["D"](*vals), ref["R"](*vals)
    has = zv["DA"] >= -np.exp(-1)
    wDA0 = np.where(has, mp_lambertw(np.where(has, zv["DA"], 0.0), 0), np.nan)
    neg = has & (zv["DA"] < 0)
    wDAm = np.where(neg, mp_lambertw(np.where(neg, zv["DA"], -0.1), -1), np.nan)
    pts = [dict(zip(("R", "F", "R_j", "lambda", "alpha"), p, strict=True)) for p in zip(*vals)]

    # Lemma 3 as a set: the window is exactly where w_DA <= w_D <= w_R
    lo_v = G["F"] ** 2 / (G["R"] * (2 * G["F"] + G["R"]))
    hi_v = G["F"] / G["R"]
    away = (np.abs(G["alpha"] / lo_v - 1) > 1e-9) & (np.abs(G["alpha"] / hi_v - 1) > 1e-9)
    in_window = (G["alpha"] >= lo_v) & (G["alpha"] <= hi_v)
    ordered = has & (wDA0 <= wD) & (wD <= wR)
    bad = away & (in_window != ordered)
    i = int(np.argmax(bad)) if bad.any() else 0
    rec.numeric(
        "lemma3.window_grid",
        "Lemma 3",
        "grid",
        float(bad.sum()),
        int(away.sum()),
        0,
        "mismatches between the window and {w_DA <= w_D <= w_R} (mpmath/SciPy W)",
        counterexample=fmt_point(**pts[i]) if bad.any() else "",
    )
    # Lemma 4 on the grid
    viol = np.abs(wD - wR) - np.abs(np.log((1 + G["alpha"]) * G["R"] / (G["R"] + G["F"])))
    i = int(np.argmax(viol))
    rec.numeric(
        "lemma4.bound_grid",
        "Lemma 4",
        "grid",
        max(0.0, float(viol.max())),
        n,
        1e-12,
        "max(|w_D - w_R| - |ln((1+alpha)|R|/|D|)|, 0); tol 1e-12 = rounding of W and log",
        counterexample=fmt_point(**pts[i], violation=float(viol[i])),
    )
    # Lemma 5 on the grid, on both branches where they exist
    m5 = has & (G["alpha"] >= hi_v)
    gaps = np.concatenate([(wR - wDA0)[m5], (wR - wDAm)[m5 & neg]])
    w0r = np.concatenate([wR[m5], wR[m5 & neg]])
    viol5 = np.maximum(0.0, w0r - np.abs(gaps))
    rec.numeric(
        "lemma5.bound_grid",
        "Lemma 5",
        "grid",
        float(viol5.max(initial=0.0)),
        int(viol5.size),
        1e-12,
        "|w_R - w_DA| >= W0(|R_j|/(lambda|R|)) for alpha >= |F|/|R|, both DA branches",
    )

    # Corollary 1 numerically: lambda -> 0 on alpha = |F|/|R| + kappa lambda
    Rc, Fc, Rjc = 900.0, 100.0, 50.0
    kap = 0.5 * Fc / (np.e * Rjc)  # inside case 2 for every lambda (kappa <= |F|/(e|R_j|))
    lams = 10.0 ** -np.arange(1, 13)
    al = Fc / Rc + kap * lams
    zDc = (1 + al) * Rjc / (lams * (Rc + Fc))
    zRc = Rjc / (lams * Rc)
    # z_DA on the path in the sympy-simplified form (1 - alpha|R|/|F| cancels catastrophically)
    zAc = np.full_like(lams, float(zda_path.subs({Rj: Rjc, kappa: kap, F: Fc})))
    dDR = np.abs(mp_lambertw(zDc) - mp_lambertw(zRc))
    dAR = np.abs(mp_lambertw(zAc) - mp_lambertw(zRc))
    mono = bool(np.all(np.diff(dDR) < 0) and np.all(np.diff(dAR) > 0))
    rec.numeric(
        "cor1.path_numeric",
        "Cor. 1",
        "simulation",
        float(dDR[-1]) if mono and dAR[-1] > 20 else np.inf,
        lams.size,
        1e-9,
        f"|R|=900, |F|=100, |R_j|=50, kappa=|F|/(2e|R_j|), lambda = 1e-1..1e-12 (mpmath W): "
        f"|w_D - w_R| decreases to {dDR[-1]:.1e}, |w_DA - w_R| increases to {dAR[-1]:.1f}",
        counterexample=fmt_point(dDR=str(dDR), dAR=str(dAR)),
    )

    # gradient descent on the one-coordinate objectives converges to the closed forms
    _simulate(rec, G, zv, wD, wR, wDA0, fast)
    # the library's engine: its GD rules on its one-coordinate data set
    rec.guarded("engine.endpoints", SEC, "simulation", lambda: _engine(rec, fast))
    # the library's closed forms
    rec.guarded(
        "library.one_coordinate",
        SEC,
        "library",
        lambda: _library(rec, G, zv, wD, wR, wDA0, wDAm, pts),
    )
    return rec.result()


def _simulate(rec, G, zv, wD, wR, wDA0, fast):
    """Plain NumPy gradient descent on L(w) = c e^{-w} + lambda w^2 / 2 from w = 0."""
    lamv = G["lambda"]
    steps = 4000 if fast else 20000
    out = {}
    for key, target in (("D", wD), ("R", wR), ("DA", wDA0)):
        cz = zv[key] * lamv  # c = lambda z
        # DA starts from the pretrained model (as in the paper); D and R from 0
        ok = np.isfinite(target) & (zv[key] > -np.exp(-1) + 1e-6)
        wv = np.where(ok, wD if key == "DA" else 0.0, np.nan)
        for _ in range(steps):
            # step = gradient / (a bound on |L''|): a locally 1/L-smooth, monotone GD
            grad = -cz * np.exp(-wv) + lamv * wv
            wv = wv - grad / (np.abs(cz) * np.exp(-wv) + lamv)
        out[key] = (wv, target, ok)
    for key, (wv, target, ok) in out.items():
        err = np.abs(wv - target)[ok] / np.maximum(1.0, np.abs(target[ok]))
        rec.numeric(
            f"simulation.gd_w_{key}",
            SEC,
            "simulation",
            float(err.max(initial=0.0)),
            int(ok.sum()),
            1e-9,
            f"GD (step 1/sup|L''|) on L_{key} from {'w_D' if key == 'DA' else '0'}: endpoint "
            "vs W0 closed form (rel.; tol 1e-9 >> rounding, << any branch gap)",
        )
    # case 3: no stationary point, gradient flow diverges to -oo
    case3 = zv["DA"] < -np.exp(-1)
    cz = zv["DA"] * lamv
    wv = np.where(case3, 0.0, np.nan)
    for _ in range(steps):
        ew = np.exp(-np.maximum(wv, -30.0))
        wv = np.maximum(wv - (-cz * ew + lamv * wv) / (np.abs(cz) * ew + lamv), -30.0)
    diverged = np.sum(case3 & ~(wv <= -30.0))
    rec.numeric(
        "simulation.case3_diverges",
        SEC,
        "simulation",
        float(diverged),
        int(case3.sum()),
        0,
        "GD on L_DA with z_DA < -1/e reaches w = -30 (count of points that did not)",
    )


def _z_da_exact(Rv, Fv, Rjv, lamv, alv, dps=50):
    """``z_DA`` at ``dps`` digits from the float inputs, rounded once to float64."""
    out = np.empty(np.shape(Rv))
    with mpmath.workdps(dps):
        for i, (r_, f_, rj, la, al) in enumerate(zip(Rv, Fv, Rjv, lamv, alv, strict=True)):
            r_, f_, rj, la, al = (mpmath.mpf(float(v)) for v in (r_, f_, rj, la, al))
            out[i] = float((f_ - al * r_) / f_ * rj / (la * r_))
    return out


def _library(rec, G, zv, wD, wR, wDA0, wDAm, pts):
    lambertw = aj.lambertw
    zgrid = np.concatenate([zv["D"], zv["R"]])
    got = np.asarray(lambertw(jnp.asarray(zgrid)))
    rec.close(
        "library.lambertw_W0",
        SEC,
        got,
        mp_lambertw(zgrid, 0),
        rtol=1e-13,
        detail="ascentjax.lambertw(z) vs mpmath W0 on the z_D, z_R grid (rtol 1e-13: few ulp)",
    )
    m = np.isfinite(wDAm)
    if m.any():
        zb = zv["DA"][m]
        got = np.asarray(lambertw(jnp.asarray(zb), branch=-1))
        # conditioning of W-1 is 1/|1+W|: allow 64 ulp times that
        cond = 1.0 / np.abs(1.0 + wDAm[m])
        err = np.abs(got - wDAm[m]) / (np.abs(wDAm[m]) * np.finfo(float).eps * cond)
        rec.numeric(
            "library.lambertw_Wm1",
            SEC,
            "library",
            float(err.max()),
            int(m.sum()),
            64.0,
            "|W-1 error| in ulp x condition number 1/|1+W| vs mpmath (tol 64)",
        )
    # near the branch point -1/e (where scipy loses accuracy): both branches vs mpmath
    zb = -np.exp(-1) + np.concatenate([10.0 ** -np.arange(1, 16), 3.0 * 10.0 ** -np.arange(1, 16)])
    zb = zb[zb >= -np.exp(-1)]
    worst = 0.0
    for branch in (0, -1):
        ref = mp_lambertw(zb, branch)
        got = np.asarray(lambertw(jnp.asarray(zb), branch=branch))
        cond = 1.0 / np.maximum(np.abs(1.0 + ref), 1e-300)
        err = np.abs(got - ref) / (np.maximum(np.abs(ref), 1.0) * np.finfo(float).eps * cond)
        worst = max(worst, float(err.max()))
    rec.numeric(
        "library.lambertw_branch_point",
        SEC,
        "library",
        worst,
        2 * zb.size,
        64.0,
        "W0 and W-1 at z = -1/e + 10^-k (k = 1..15) vs 40-digit mpmath at the same float z, "
        "error in ulp x condition 1/|1+W| (tol 64)",
    )
    _one_coordinate_compare(rec, G, wD, wR, wDA0, wDAm, pts)


def _one_coordinate_compare(rec, G, wD, wR, wDA0, wDAm, pts):
    """The library's one-coordinate theory against the sympy-derived closed forms."""
    names = (
        "solve",
        "one_coordinate_z",
        "case_boundaries",
        "lemma3_window",
        "lemma4_bound",
        "lemma5_bound",
        "corollary1_path",
        "stationary_margin",
    )
    fns = {name: getattr(aj.theory, name) for name in names}
    Rv, Fv, Rjv, lamv, alv = (G[k] for k in ("R", "F", "R_j", "lambda", "alpha"))
    J = [jnp.asarray(v) for v in (Rjv, alv, lamv, Rv, Fv)]
    problem = aj.OneCoordinate(J[1], J[2], block_size=J[0], n_retain=J[3], n_forget=J[4])
    args = (R, F, Rj, lam, alpha)
    vals = (Rv, Fv, Rjv, lamv, alv)
    zl = fns["one_coordinate_z"](problem)
    want = [sp.lambdify(args, STATED_Z[k])(*vals) for k in ("D", "R", "DA")]
    rec.close(
        "library.one_coordinate_z",
        SEC,
        np.concatenate([np.asarray(v) for v in zl]),
        np.concatenate(want),
        rtol=1e-13,
        atol=1e-13,
        detail="one_coordinate_z (z_D, z_R, z_DA) vs the z's of the derived stationary points",
    )
    sol = fns["solve"](problem)
    rec.close(
        "library.w_D_w_R",
        SEC,
        np.concatenate([np.asarray(sol.pretrained), np.asarray(sol.oracle)]),
        np.concatenate([wD, wR]),
        rtol=1e-13,
        detail="solve pretrained/oracle vs lambdified W0(z_D), W0(z_R)",
        points=pts + pts,
    )
    # DA: both branches, error in ulp x the condition number of the whole computation: W's
    # 1/|1+W| times that of z_DA in float64, 1 + |alpha R/(F - alpha R)| (rounding alpha|R|
    # costs that many ulp of z_DA when alpha ~ |F|/|R|); the reference is exact (50 digits)
    eps_ = np.finfo(float).eps
    cond_z = 1.0 + np.abs(alv * Rv / (Fv - alv * Rv))
    worst = 0.0
    for got, ref in ((np.asarray(sol.da), wDA0), (np.asarray(sol.da_max), wDAm)):
        both_nan = np.isnan(got) & np.isnan(ref)
        cond = cond_z / np.maximum(np.abs(1.0 + ref), 1e-300)
        err = np.abs(got - ref) / (np.maximum(np.abs(ref), 1.0) * eps_ * cond)
        err = np.where(both_nan, 0.0, np.where(np.isnan(err), np.inf, err))
        worst = max(worst, float(err.max()))
    rec.numeric(
        "library.w_DA_branches",
        SEC,
        "library",
        worst,
        2 * Rv.size,
        64.0,
        "solve da (W0) and da_max (W-1, case 2 only; NaN elsewhere) vs "
        "50-digit mpmath, error in ulp x condition (1/|1+W|)(1 + |alpha R/(F - alpha R)|) "
        "(tol 64; NaN must match NaN)",
    )
    zda = want[2]
    case = np.where(zda >= 0, 1, np.where(zda >= -np.exp(-1), 2, 3))
    rec.numeric(
        "library.branch_case",
        SEC,
        "library",
        float(np.sum(np.asarray(sol.case) != case)),
        Rv.size,
        0,
        "solve case vs the derived sets z >= 0 / [-1/e, 0) / < -1/e",
    )
    d1, t1 = linear_threshold(STATED_Z["DA"], alpha)
    d2, t2 = linear_threshold(STATED_Z["DA"] + sp.exp(-1), alpha)
    a0, a1 = fns["case_boundaries"](problem)
    rec.close(
        "library.case_boundaries",
        SEC,
        np.concatenate([np.asarray(a0), np.asarray(a1)]),
        np.concatenate([lambdify_real(args, t1)(*vals), lambdify_real(args, t2)(*vals)]),
        rtol=1e-13,
        detail="case_boundaries vs alpha solved from z_DA = 0 and z_DA = -1/e",
    )
    _, lo = linear_threshold(STATED_Z["D"] - STATED_Z["DA"], alpha)
    _, hi = linear_threshold(STATED_Z["R"] - STATED_Z["D"], alpha)
    w_lo, w_hi = fns["lemma3_window"](problem)
    rec.close(
        "library.lemma3_window",
        "Lemma 3",
        np.concatenate([np.asarray(w_lo), np.asarray(w_hi)]),
        np.concatenate([lambdify_real(args, lo)(*vals), lambdify_real(args, hi)(*vals)]),
        rtol=1e-13,
        detail="lemma3_window vs the solution set of the two derived inequalities",
    )
    b4 = lambdify_real(args, sp.Abs(sp.log((1 + alpha) * R / D)))(*vals)
    rec.close(
        "library.lemma4_bound",
        "Lemma 4",
        np.asarray(fns["lemma4_bound"](problem)),
        b4,
        rtol=1e-12,
        atol=1e-15,
        detail="lemma4_bound vs |ln(z_D/z_R)| from the derived ratio",
    )
    rec.close(
        "library.lemma5_bound",
        "Lemma 5",
        np.asarray(fns["lemma5_bound"](problem)),
        wR,
        rtol=1e-13,
        detail="lemma5_bound vs W0(z_R) (lambdified)",
    )
    Rc, Fc, Rjc = 900.0, 100.0, 50.0
    kap = 0.5 * Fc / (np.e * Rjc)
    lams = 10.0 ** -np.arange(1, 13)
    path = fns["corollary1_path"](aj.OneCoordinate(0.0, 1.0, Rjc, Rc, Fc), jnp.asarray(lams), kap)
    al = Fc / Rc + kap * lams
    zRc = Rjc / (lams * Rc)
    wRc = mp_lambertw(zRc)
    # z_DA on the path = -kappa |R_j| / |F| (derived in cor1.zDA_constant; no cancellation)
    dAR = np.abs(mp_lambertw(np.full_like(lams, -kap * Rjc / Fc)) - wRc)
    dDR = np.abs(mp_lambertw((1 + al) * Rjc / (lams * (Rc + Fc))) - wRc)
    rec.close(
        "library.corollary1_path",
        "Cor. 1",
        np.concatenate([np.asarray(path.dist_da_oracle), np.asarray(path.dist_pretrained_oracle)]),
        np.concatenate([dAR, dDR]),
        rtol=1e-12,
        atol=1e-13,
        detail="corollary1_path distances vs mpmath W on the same path (atol 1e-13: |w_D - w_R| "
        "is a difference of two W's of size ~20)",
    )
    # logistic loss: the library's root satisfies the sympy-derived stationarity equation
    zq = rng(12).uniform(-50, 50, 400)
    c_ = sp.Symbol("c", real=True)
    stat = sp.solve(sp.diff(c_ * sp.log(1 + sp.exp(-w)) + lam / 2 * w**2, w), c_)[0] / lam
    z_of_w = lambdify_real((w, lam), stat)  # z = c / lambda as a function of the root w
    wq = np.asarray(fns["stationary_margin"](jnp.asarray(zq), loss="logistic"))
    rec.close(
        "library.stationary_margin_logistic",
        SEC,
        z_of_w(wq, 1.0),
        zq,
        rtol=1e-12,
        atol=1e-12,
        detail="logistic loss: z(w) = w (1 + e^w) derived from dL/dw = 0, evaluated at "
        "stationary_margin(z) (rtol 1e-12)",
    )


def _engine(rec, fast):
    """ascentjax's ``run_rule`` (pretrain / retrain / simultaneous DA) vs the closed forms."""
    one_coordinate_data, run_rule = aj.one_coordinate_data, aj.run_rule
    pretrain, retrain, simultaneous_da = aj.pretrain, aj.retrain, aj.simultaneous_da
    g = rng(3)
    n = 48 if fast else 1024
    block_size = 5
    Rv = np.round(10 ** g.uniform(1.8, 3, n))
    Fv = np.round(10 ** g.uniform(1, 2.3, n))
    lamv = 10 ** g.uniform(-2.5, -0.5, n)
    alv = (Fv / Rv) * 10 ** g.uniform(-1, 0.8, n)
    alv = np.minimum(alv, Fv / block_size)  # |F_j| = alpha |R_j| <= |F|
    zD = (1 + alv) * block_size / (lamv * (Rv + Fv))
    zR = block_size / (lamv * Rv)
    zDA = (1 - alv * Rv / Fv) * block_size / (lamv * Rv)
    wD, wR = mp_lambertw(zD), mp_lambertw(zR)
    steps = 3000

    def run(rule_fn, a, r_, f_, l_, w0):
        data = one_coordinate_data(None, block_size, a, r_, f_, dtype=jnp.float64)
        c = jnp.maximum(jnp.abs(rule_z(rule_fn, a, r_, f_, l_)) * l_ * jnp.exp(-w0), 0.0)
        learning_rate = 1.0 / (c + l_)  # 1 / (bound on L'' on the path): monotone, stable GD
        rule = rule_fn(learning_rate, lam=l_)
        traj = run_rule(rule, jnp.atleast_1d(w0), data, steps=steps, stride=steps)
        return traj.final[0], traj.diverged

    def rule_z(rule_fn, a, r_, f_, l_):
        if rule_fn is pretrain:
            return (1 + a) * block_size / (l_ * (r_ + f_))
        if rule_fn is retrain:
            return block_size / (l_ * r_)
        return (1 - a * r_ / f_) * block_size / (l_ * r_)

    args = [jnp.asarray(v) for v in (alv, Rv, Fv, lamv)]
    pts = [
        dict(alpha=a, R=r_, F=f_, lam=l_) for a, r_, f_, l_ in zip(alv, Rv, Fv, lamv, strict=True)
    ]
    for key, rule_fn, target, w0 in (
        ("D", pretrain, wD, np.zeros(n)),
        ("R", retrain, wR, np.zeros(n)),
    ):
        fn = jax.jit(
            jax.vmap(lambda a, r_, f_, l_, w0_, rule_fn=rule_fn: run(rule_fn, a, r_, f_, l_, w0_))
        )
        end, _ = fn(*args, jnp.asarray(w0))
        rec.close(
            f"engine.gd_endpoint_w_{key}",
            SEC,
            np.asarray(end),
            target,
            rtol=1e-9,
            kind="simulation",
            detail=f"ascentjax run_rule({rule_fn.__name__}) on one_coordinate_data, {steps} steps "
            f"from 0 vs W0(z_{key}) (rtol 1e-9: converged GD, >> float64 rounding)",
            points=pts,
        )
    # DA from the pretrained model: W0 branch in cases 1-2, divergence in case 3
    has = zDA >= -np.exp(-1) + 1e-3  # stay off the degenerate fold (slow convergence)
    none = zDA < -np.exp(-1) - 1e-3
    fn = jax.jit(jax.vmap(lambda a, r_, f_, l_, w0_: run(simultaneous_da, a, r_, f_, l_, w0_)))
    end, div = fn(*args, jnp.asarray(wD))
    end, div = np.asarray(end), np.asarray(div)
    wDA = mp_lambertw(np.where(has, zDA, 0.0))
    rec.close(
        "engine.gd_endpoint_w_DA",
        SEC,
        end[has],
        wDA[has],
        rtol=1e-9,
        kind="simulation",
        detail="run_rule(simultaneous_da) from w_D where z_DA >= -1/e: endpoint vs W0(z_DA) "
        "(the local minimum; rtol 1e-9)",
        points=[p for p, h in zip(pts, has, strict=True) if h],
    )
    wrong = (none & ~div) | (has & div)
    i = int(np.argmax(wrong)) if wrong.any() else 0
    rec.numeric(
        "engine.divergence_iff_case3",
        SEC,
        "simulation",
        float(wrong.sum()),
        int((has | none).sum()),
        0,
        "run_rule's diverged flag is set exactly where z_DA < -1/e (count of mismatches)",
        counterexample=fmt_point(**pts[i], z_DA=zDA[i], diverged=bool(div[i])),
    )
