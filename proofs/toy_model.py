"""The nonconvex toy (paper Sec. 5.2, Fig. 5, App. B).

Inputs ``x in {-1, 1, 3, 4}`` embedded as ``(x, x^2)``, labels ``(-1, +1, -1, +1)``,
multiplicities ``(5, 4, 1, 4)``, model ``h(x) = tanh(a x + b x^2)`` and the unnormalised
weighted loss ``L_w(theta) = sum_i w_i (h(x_i) - y_i)^2 + lambda |theta|^2`` (``lambda = 0.1``).

Derived with sympy: the gradient of ``L_w``; App. B's reweighting (a step ``eta_d`` of
descent on ``L_R`` plus ``eta_a`` of ascent on ``L_F`` is a descent step on
``L_R - (eta_a/eta_d) L_F``) and the resulting weight of the forgotten point,
``(m - k) - r k``, solved for the forget count ``k``; the fold of the good basin (gradient
and Hessian determinant of ``L_w`` vanish together) as a function of the weight at ``x = 4``.

Numerically: the lambdified loss and gradient against ``ascentjax.toy.loss``; the minima of
the landscape (multi-start BFGS, SciPy) and the GDA-then-fine-tune failure by gradient
descent; App. B's region: GDA from the pretrained model ends in the inferior basin exactly
when the GDA weight at ``x = 4`` is below the fold weight ``w*``, on a grid of step-size
ratios ``r`` and forget counts ``k``. App. B's printed example (ratio 2, forget one copy)
and its claim that every ratio has a forget count are paper statements: the computation
contradicts both, and they are reported as discrepancies next to the true region.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from scipy import optimize

import ascentjax as aj

from ._report import CheckResult, Recorder, enable_x64, fmt_point
from ._sym import rng

__all__ = ["check", "derivation", "fold_weight", "minima"]

SEC = "Sec. 5.2"
INPUTS = np.array([-1.0, 1.0, 3.0, 4.0])
LABELS = np.array([-1.0, 1.0, -1.0, 1.0])
MULT = np.array([5.0, 4.0, 1.0, 4.0])
LAM = 0.1

a, b = sp.symbols("a b", real=True)
lam = sp.Symbol("lambda", positive=True)
XS = sp.symbols("x0:4", real=True)
YS = sp.symbols("y0:4", real=True)
WS = sp.symbols("w0:4", real=True)


def loss_expr() -> sp.Expr:
    """``sum_i w_i (tanh(a x_i + b x_i^2) - y_i)^2 + lambda (a^2 + b^2)``."""
    return sum(
        w * (sp.tanh(a * xi + b * xi**2) - yi) ** 2 for w, xi, yi in zip(WS, XS, YS, strict=True)
    ) + lam * (a**2 + b**2)


def closed_gradient() -> list[sp.Expr]:
    """``sum_i 2 w_i (h_i - y_i)(1 - h_i^2) (x_i, x_i^2) + 2 lambda theta``."""
    out = []
    for k, th in enumerate((a, b)):
        g = 2 * lam * th
        for w, xi, yi in zip(WS, XS, YS, strict=True):
            h = sp.tanh(a * xi + b * xi**2)
            g += 2 * w * (h - yi) * (1 - h**2) * (xi if k == 0 else xi**2)
        out.append(g)
    return out


def derivation() -> list[sp.Expr]:
    """``grad L_w`` by ``sympy.diff``."""
    L = loss_expr()
    return [sp.diff(L, th) for th in (a, b)]


# ------------------------------------------------------------------ NumPy model
def _loss(t, w):
    h = np.tanh(t[0] * INPUTS + t[1] * INPUTS**2)
    return float(np.sum(w * (h - LABELS) ** 2) + LAM * (t @ t))


def _grad(t, w):
    h = np.tanh(t[0] * INPUTS + t[1] * INPUTS**2)
    c = 2 * w * (h - LABELS) * (1 - h**2)
    return np.array([c @ INPUTS, c @ INPUTS**2]) + 2 * LAM * t


def minima(w, n_start=9):
    """Distinct local minima of ``L_w`` (multi-start BFGS), sorted by loss."""
    found = []
    for a0 in np.linspace(-3, 3, n_start):
        for b0 in np.linspace(-1.5, 1.5, n_start):
            r = optimize.minimize(
                _loss, [a0, b0], args=(w,), jac=_grad, method="BFGS", options={"gtol": 1e-10}
            )
            if not r.success and np.linalg.norm(_grad(r.x, w)) > 1e-7:
                continue
            if all(np.linalg.norm(r.x - f[0]) > 1e-4 for f in found):
                found.append((r.x, r.fun))
    return sorted(found, key=lambda f: f[1])


def _gd(t0, w, steps=20000):
    """Plain gradient descent with step 1/L (L bounds the Hessian), batched over rows of w."""
    w = np.atleast_2d(w)
    t = np.broadcast_to(np.asarray(t0, float), (w.shape[0], 2)).copy()
    L = np.sum(np.abs(w) * 3.0 * (INPUTS**2 + INPUTS**4), axis=1, keepdims=True) + 2 * LAM
    for _ in range(steps):
        h = np.tanh(t[:, :1] * INPUTS + t[:, 1:] * INPUTS**2)
        c = 2 * w * (h - LABELS) * (1 - h**2)
        g = np.stack([c @ INPUTS, c @ INPUTS**2], axis=1) + 2 * LAM * t
        t = t - g / L
    return t[0] if t.shape[0] == 1 and np.ndim(t0) == 1 and w.shape[0] == 1 else t


def _correct(t):
    return np.sign(np.tanh(t[0] * INPUTS + t[1] * INPUTS**2)) == LABELS


def _bad_basin(t):
    """The pretrained model's inferior basin: x = 3 classified right, x = 4 wrong."""
    c = _correct(t)
    return bool(c[2] and not c[3])


STATED = {  # the quoted landscape: (theta, its rounding unit, loss, its rounding unit)
    "pretrained": ((1.35, -0.25), 0.01, 4.22, 0.01),
    "pretrained_local": ((1.813, -0.739), 0.001, 16.58, 0.01),
    "retrain": ((1.29, -0.25), 0.01, 4.18, 0.01),
    "retrain_local": ((1.82, -0.74), 0.01, 8.58, 0.01),
    "gda": ((1.83, -0.75), 0.01, None, None),
}


def check(fast: bool = True) -> CheckResult:
    """Run every claim about the toy model."""
    enable_x64()
    rec = Recorder("toy_model")
    rec.symbolic(
        "gradient.closed_form",
        SEC,
        [d - c for d, c in zip(derivation(), closed_gradient(), strict=True)],
        "diff(L_w) = sum 2 w_i (h_i - y_i)(1 - h_i^2)(x_i, x_i^2) + 2 lambda theta",
        latex=r"\nabla L_w(\theta) = \sum_i 2w_i\,(h_i - y_i)(1 - h_i^2)\,(x_i, x_i^2) + "
        r"2\lambda\theta",
    )
    # App. B: reweighting by the step-size ratio
    eta_d, eta_a, r = sp.symbols("eta_d eta_a r", positive=True)
    LR, LF = sp.Function("L_R")(a, b), sp.Function("L_F")(a, b)
    step = [th - eta_d * sp.diff(LR, th) + eta_a * sp.diff(LF, th) for th in (a, b)]
    reweighted = [th - eta_d * sp.diff(LR - (eta_a / eta_d) * LF, th) for th in (a, b)]
    rec.symbolic(
        "appB.step_ratio_reweights",
        "App. B",
        [s - t for s, t in zip(step, reweighted, strict=True)],
        "theta - eta_d grad L_R + eta_a grad L_F = theta - eta_d grad(L_R - (eta_a/eta_d) L_F)",
        latex=r"\theta - \eta_d\nabla L_R + \eta_a\nabla L_F = \theta - \eta_d\nabla\Big(L_R - "
        r"\tfrac{\eta_a}{\eta_d}L_F\Big)",
    )
    m, k, wt = sp.symbols("m k w_star", real=True)
    weight = (m - k) - r * k
    ksol = sp.solve(sp.Eq(weight, wt), k)
    rec.equal(
        "appB.forget_count",
        "App. B",
        [sp.simplify(s - (m - wt) / (1 + r)) for s in ksol],
        [0],
        "GDA weight of the forgotten point (m - k) - r k equals w* iff k = (m - w*)/(1 + r)",
        latex=r"k = \frac{m - w^\star}{1 + r}",
    )
    k_paper = ksol[0].subs({m: 4, wt: 0, r: 1})
    k_ratio2 = ksol[0].subs({m: 4, wt: 0, r: 2})
    rec.equal(
        "appB.paper_example_weight",
        "App. B",
        (k_paper, weight.subs({m: 4, k: 2, r: 1})),
        (2, 0),
        "ratio 1: forgetting k = 2 of the 4 copies at x = 4 gives GDA weight 4 - 2 - 2 = 0",
    )
    rec.equal(
        "appB.ratio3_forget1_same_objective",
        "App. B",
        (weight.subs({m: 4, k: 1, r: 3}), weight.subs({m: 4, k: 1, r: 2})),
        (0, 1),
        f"the same GDA objective as the paper's (weight 0 at x=4) with one forgotten copy needs "
        f"ratio r = 3; with r = 2 the weight is 1 (k = {k_ratio2} would be needed)",
        latex=r"(4 - 1) - 3\cdot 1 = 0,\qquad (4 - 1) - 2\cdot 1 = 1",
    )
    th_pre, w_star = _numerics(rec, fast)
    rec.guarded("library.toy", SEC, "library", lambda: _library(rec, fast, th_pre, w_star))
    return rec.result()


def _numerics(rec, fast):
    n_start = 7 if fast else 15
    w_pre = MULT
    w_ret = MULT - np.array([0, 0, 0, 2.0])
    w_gda = w_ret - np.array([0, 0, 0, 2.0])
    found = {
        "pretrained": minima(w_pre, n_start),
        "retrain": minima(w_ret, n_start),
        "gda": minima(w_gda, n_start),
    }
    got = {
        "pretrained": found["pretrained"][0],
        "pretrained_local": found["pretrained"][1] if len(found["pretrained"]) > 1 else None,
        "retrain": found["retrain"][0],
        "retrain_local": found["retrain"][1] if len(found["retrain"]) > 1 else None,
        "gda": found["gda"][0],
    }
    for key, (theta, unit_t, loss, unit_l) in STATED.items():
        g = got[key]
        if g is None:
            resid, where = np.inf, f"{key}: minimum not found"
        else:
            # residual in units of half the last printed digit: <= 1 iff it rounds as printed
            e_t = float(np.max(np.abs(g[0] - np.array(theta)))) / (unit_t / 2)
            e_l = 0.0 if loss is None else abs(g[1] - loss) / (unit_l / 2)
            resid = max(e_t, e_l)
            where = fmt_point(theta=str(np.round(g[0], 4)), loss=g[1], stated=str((theta, loss)))
        rec.numeric(
            f"landscape.minimum_{key}",
            SEC,
            "simulation",
            resid,
            n_start**2,
            1.0,
            f"multi-start BFGS: {key.replace('_', ' ')} minimum ~ {theta}"
            + ("" if loss is None else f", loss ~ {loss}")
            + f"; residual in units of half the last quoted digit (theta {unit_t / 2:g}"
            + ("" if loss is None else f", loss {unit_l / 2:g}")
            + ")",
            counterexample=where,
        )
    rec.numeric(
        "landscape.gda_unique",
        SEC,
        "simulation",
        float(len(found["gda"]) - 1),
        n_start**2,
        0,
        f"the GDA objective (weights {w_gda.tolist()}) has a unique minimum "
        f"(extra minima found from {n_start**2} starts)",
    )
    th_pre, th_ret, th_gda = got["pretrained"][0], got["retrain"][0], got["gda"][0]
    counts = (
        float(MULT @ _correct(th_pre)),
        float(w_ret @ _correct(th_ret)),
        float(w_gda @ _correct(th_gda)),
        float(w_ret @ _correct(th_gda)),
    )
    want = (13.0, 11.0, 10.0, 10.0)
    rec.numeric(
        "landscape.weighted_accuracy",
        SEC,
        "simulation",
        float(np.max(np.abs(np.array(counts) - want))),
        4,
        0,
        "weighted points right: pretrained 13/14, retrain 11/12, GDA 10/10 (own objective), "
        "GDA 10/12 (retain set)",
        counterexample=fmt_point(counts=str(counts), stated=str(want)),
    )
    # GDA from the pretrained model, then fine-tuning on the retain objective
    steps = 20000 if fast else 60000
    t_gda = _gd(th_pre, w_gda, steps)
    t_ft = _gd(t_gda, w_ret, steps)
    l_ft, l_or = _loss(t_ft, w_ret), got["retrain"][1]
    stuck = _bad_basin(t_ft) and abs(l_ft - 8.58) < 0.005 and abs(l_or - 4.18) < 0.005
    rec.numeric(
        "landscape.finetune_stays",
        SEC,
        "simulation",
        0.0 if stuck else 1.0,
        1,
        0,
        f"GD on L_GDA from the pretrained min, then on L_R: ends at {np.round(t_ft, 3)} "
        f"(loss {l_ft:.3f} vs the oracle's {l_or:.3f}; x=3 right, x=4 wrong)",
        counterexample=fmt_point(theta=str(np.round(t_ft, 4)), loss=l_ft),
    )
    # App. B: the region where a step-size ratio and a forget count recreate the failure
    return _appendix_b(rec, th_pre, fast)


def fold_expr() -> tuple[list[sp.Expr], sp.Symbol]:
    """``grad L_w`` and ``det Hess L_w`` with the weights ``(5, 4, 1, w4)``: a fold (the good
    minimum merges with a saddle and disappears) is a common zero of the three."""
    w4 = WS[3]
    L = loss_expr().subs(
        {**dict(zip(XS, INPUTS, strict=True)), **dict(zip(YS, LABELS, strict=True)), lam: LAM}
    )
    L = L.subs({WS[0]: MULT[0], WS[1]: MULT[1], WS[2]: MULT[2]})
    grad = [sp.diff(L, th) for th in (a, b)]
    hess = sp.Matrix(2, 2, lambda i, j: sp.diff(L, (a, b)[i], (a, b)[j]))
    return [*grad, hess.det()], w4


def fold_weight(th_pre, dw=0.02):
    """The weight ``w*`` at ``x = 4`` below which the pretrained model's basin disappears.

    Continuation: the pretrained minimum ``th_pre`` (``w4 = 4``) is followed downwards in
    steps of ``dw`` (a local Newton solve of ``grad L_w = 0`` from the previous minimum)
    until it stops being a minimum; then the fold system (sympy-derived gradient and Hessian
    determinant) is solved from the last minimum. Returns ``(w*, theta*, max |residual|)``.
    """
    eqs, w4 = fold_expr()
    f_all = sp.lambdify(((a, b, w4),), eqs, "numpy")
    j_all = sp.lambdify(((a, b, w4),), sp.Matrix(eqs).jacobian([a, b, w4]), "numpy")
    f_min = sp.lambdify(((a, b), w4), eqs[:2], "numpy")
    j_min = sp.lambdify(((a, b), w4), sp.Matrix(eqs[:2]).jacobian([a, b]), "numpy")
    theta, wv = np.asarray(th_pre, float), float(MULT[3])
    while True:
        nxt = optimize.root(
            lambda t, wv=wv - dw: f_min(t, wv), theta, jac=lambda t, wv=wv - dw: j_min(t, wv)
        )
        moved = np.linalg.norm(nxt.x - theta)
        if not nxt.success or moved > 0.1 or f_all([*nxt.x, wv - dw])[2] <= 0:
            break
        theta, wv = nxt.x, wv - dw
    sol = optimize.root(
        lambda v: f_all(v), [*theta, wv], jac=lambda v: np.asarray(j_all(v), float), tol=1e-14
    )
    return float(sol.x[2]), sol.x[:2], float(np.max(np.abs(f_all(sol.x))))


def _appendix_b(rec, th_pre, fast):
    w_star, th_star, resid = fold_weight(th_pre)
    hess_eigs = np.linalg.eigvalsh(
        optimize.approx_fprime(th_star, lambda t: _grad(t, np.r_[MULT[:3], w_star]), 1e-7)
    )
    rec.numeric(
        "appB.fold_weight",
        "App. B",
        "simulation",
        resid,
        1,
        1e-9,
        f"fold of the good basin: grad L_w = 0 and det Hess L_w = 0 (sympy) at w4 = "
        f"{w_star:.4f}, theta = {np.round(th_star, 3)} (Hessian eigenvalues "
        f"{np.round(hess_eigs, 3)}); residual of the three equations (tol 1e-9)",
    )
    thresholds = {k: ((4 - k) - w_star) / k for k in (1, 2, 3)}
    # the phase diagram over (ratio, forget count): GD from the pretrained model
    ratios = (
        np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 0.7, 0.8, 1.0, 2.0, 2.4, 2.6, 3.0, 4.0, 6.0])
        if fast
        else np.round(np.linspace(0.02, 6.0, 300), 4)
    )
    kgrid = np.array([1.0, 2.0, 3.0])
    rr, kk = np.meshgrid(ratios, kgrid, indexing="ij")
    weight = (4 - kk) - rr * kk
    steps = 10000 if fast else 30000
    fails, ends, oracles = _failure(th_pre, rr, kk, steps)
    fails, ends = fails.reshape(rr.shape), ends.reshape(rr.shape + (2,))
    predicted = weight < w_star
    # GD slows down near the fold: points within 0.02 of w* are not classified
    away = np.abs(weight - w_star) > 0.02
    bad = away & (fails != predicted)
    oracle_bad = [k for k, th in oracles.items() if _bad_basin(th)]
    i = np.unravel_index(int(np.argmax(bad)), bad.shape) if bad.any() else (0, 0)
    rec.numeric(
        "appB.region",
        "App. B",
        "simulation",
        float(bad.sum() + len(oracle_bad)),
        int(away.sum()),
        0,
        "GD on L_GDA (ratio r, k of the 4 copies at x=4 forgotten) from the pretrained model "
        f"ends in the inferior basin iff (4 - k) - r k < w* = {w_star:.4f}, while every oracle "
        f"(k = 1, 2, 3) stays in the good basin ({rr.size} grid points, {int(away.sum())} "
        "farther than 0.02 from the fold; mismatches): k = 1 needs r > "
        f"{thresholds[1]:.3f}, k = 2 r > {thresholds[2]:.3f}, k = 3 r > {thresholds[3]:.3f}",
        counterexample=fmt_point(
            r=rr[i], k=kk[i], weight=weight[i], endpoint=str(np.round(ends[i], 4))
        )
        + (f"; oracles in the inferior basin for k = {oracle_bad}" if oracle_bad else ""),
    )
    # the paper's example: ascent step twice the descent step, forget one copy
    ok, end21, _ = _failure(th_pre, 2.0, 1.0, steps, oracles)
    end21 = np.atleast_2d(end21)[0]
    rec.paper(
        "appB.paper_example_ratio2_forget1",
        "App. B",
        bool(ok[0]),
        printed="an ascent step twice the descent step with one forgotten copy (instead of "
        "two) recreates the failure",
        computed=f"the GDA weight at x = 4 is (4 - 1) - 2*1 = 1 > w* = {w_star:.3f}; GD from "
        f"the pretrained model ends at {np.round(end21, 3).tolist()}, in the good basin "
        f"(x = 4 classified {'wrong' if not _correct(end21)[3] else 'right'})",
        truth=f"with one forgotten copy the failure needs r > 3 - w* = {thresholds[1]:.2f} "
        "(r = 3 gives weight 0 at x = 4, the GDA objective of the main example)",
        detail="App. B's example (ratio 2, forget 1 of the 4 copies at x = 4) vs GD from the "
        "pretrained model (the region is checked by appB.region)",
    )
    missing = [float(r) for r, row in zip(ratios, fails, strict=True) if not row.any()]
    rec.paper(
        "appB.paper_every_ratio_has_a_count",
        "App. B",
        not missing,
        printed="for any ascent/descent step-size ratio some forget count recreates the failure",
        computed=f"no count k in {{1, 2, 3}} recreates it for r in {missing} (k = 4 forgets "
        "every copy, so the oracle itself ignores x = 4)",
        truth=f"a count exists iff r > (1 - w*)/3 = {thresholds[3]:.3f} (k = 3); k = 2 works "
        f"from r > {thresholds[2]:.2f}, k = 1 from r > {thresholds[1]:.2f}",
        detail=f"every ratio of the grid ({ratios.size} values in [{ratios[0]:g}, "
        f"{ratios[-1]:g}]) vs GD from the pretrained model (checked by appB.region)",
        residual=float(len(missing)),
        grid_size=ratios.size,
    )
    return th_pre, w_star


def _failure(th_pre, ratios, ks, steps, oracles=None):
    """Whether GDA (ratio r, k copies of x=4 forgotten) started at the pretrained model ends
    in the inferior basin while the oracle of the same retain set does not (batched).
    Returns the flags, the GDA endpoints and the oracles (global minima) by ``k``."""
    ratios, ks = np.broadcast_arrays(np.asarray(ratios, float), np.asarray(ks, float))
    last = np.zeros((ks.size, 4))
    last[:, -1] = ks.ravel()
    w_gda = MULT - last - ratios.reshape(-1, 1) * last
    ends = np.atleast_2d(_gd(th_pre, w_gda, steps))
    oracles = {} if oracles is None else oracles
    out = []
    for kk, end in zip(ks.ravel(), ends, strict=True):
        if kk not in oracles:
            oracles[kk] = minima(MULT - np.array([0, 0, 0, kk]), 5)[0][0]
        out.append(_bad_basin(end) and not _bad_basin(oracles[kk]))
    return np.array(out), ends, oracles


def _library(rec, fast, th_pre, w_star):
    toy = aj.toy
    g = rng(8)
    n = 128 if fast else 4096
    th = g.normal(scale=1.5, size=(n, 2))
    w = g.uniform(-3, 6, size=(n, 4))
    f_loss = sp.lambdify((a, b, *WS, *XS, *YS, lam), loss_expr(), "numpy")
    f_grad = sp.lambdify((a, b, *WS, *XS, *YS, lam), closed_gradient(), "numpy")
    want = f_loss(th[:, 0], th[:, 1], *w.T, *INPUTS, *LABELS, LAM)
    wantg = np.stack(f_grad(th[:, 0], th[:, 1], *w.T, *INPUTS, *LABELS, LAM), axis=-1)
    got = np.asarray(toy.loss(jnp.asarray(th), jnp.asarray(w), lam=LAM))
    gotg = np.asarray(
        jax.vmap(jax.grad(lambda t, ww: toy.loss(t, ww, lam=LAM)))(jnp.asarray(th), jnp.asarray(w))
    )
    rec.close(
        "library.loss_and_grad",
        SEC,
        np.concatenate([got, gotg.ravel()]),
        np.concatenate([want, wantg.ravel()]),
        rtol=1e-12,
        atol=1e-12,
        detail=f"toy.loss and jax.grad(toy.loss) vs lambdified sympy, {n} random (theta, w)",
    )
    ratios = g.uniform(0, 4, 64)
    ks = g.integers(0, 5, 64).astype(float)
    forget = np.zeros((64, 4))
    forget[:, -1] = ks
    tw = toy.weights(forget=jnp.asarray(forget), ratio=jnp.asarray(ratios))
    r_, m_, k_ = sp.symbols("r m k")
    f_w = sp.lambdify((m_, k_, r_), (m_ - k_) - r_ * k_, "numpy")
    rec.close(
        "library.weights",
        "App. B",
        np.asarray(tw.gda)[:, -1],
        f_w(4.0, ks, ratios),
        rtol=1e-14,
        atol=1e-14,
        detail="toy.weights(forget=k, ratio=r).gda at x=4 vs the derived (m - k) - r k",
    )
    starts = jnp.asarray([[1.0, 0.0], [2.0, -1.0], [0.5, 0.5]])
    ends = np.asarray(
        toy.descend(starts, jnp.asarray(MULT - np.array([0, 0, 0, 4.0])), steps=20000, lam=LAM)
    )
    ref = minima(MULT - np.array([0, 0, 0, 4.0]), 5)[0][0]
    rec.close(
        "library.descend_gda",
        SEC,
        ends.ravel(),
        np.tile(ref, len(starts)),
        rtol=1e-6,
        atol=1e-8,
        kind="simulation",
        detail="toy.descend on L_GDA from 3 starts vs the unique BFGS minimum (rtol 1e-6: "
        "GD with step 1/L after 2e4 steps)",
    )
    # the library's gradient descent on both sides of the fold, from the pretrained model
    w4 = w_star + np.array([-0.05, 0.05])
    ends = np.asarray(
        toy.descend(
            jnp.asarray(th_pre),
            jnp.asarray(np.stack([np.r_[MULT[:3], v] for v in w4])),
            steps=20000,
            lam=LAM,
        )
    )
    trapped = [_bad_basin(e) for e in ends]
    rec.numeric(
        "library.descend_fold",
        "App. B",
        "simulation",
        float(trapped != [True, False]),
        2,
        0,
        f"toy.descend from the pretrained model with weight w* -/+ 0.05 at x = 4 (w* = "
        f"{w_star:.4f}): trapped in the inferior basin below the fold, not above it",
        counterexample=fmt_point(endpoints=str(np.round(ends, 4)), trapped=str(trapped)),
    )
