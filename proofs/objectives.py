"""The objectives (paper Eq. 1) and their gradients, for both losses.

Derived with sympy on a symbolic data set (``n = 5`` samples in ``d = 2``, three retain
and two forget, symbolic features, labels and multiplicities ``v_i``):

* the gradients of ``L_D``, ``L_R`` and ``L_DA`` by ``diff``, equal to the closed form
  ``-(1/N) sum v_i l'(m_i) y_i x_i + lambda w`` with ``l'`` derived for each loss;
* with the exponential loss ``L_DA`` is unbounded below (``lim = -oo`` along the forget
  direction when the forget weight dominates), with the logistic loss and ``lambda > 0``
  it is bounded below by ``-ln 2 - X^2 / (2 lambda)`` (``X`` = the largest forget norm).

Numerically: the lambdified objectives and gradients against ``ascentjax``'s
``pretrain_objective``/``retain_objective``/``da_objective`` and ``jax.grad`` of them; and
the endpoints of the library's gradient-descent rules, where the derived gradient vanishes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

import ascentjax as aj

from ._report import CheckResult, Recorder, enable_x64
from ._sym import rng

__all__ = ["check", "derivation"]

SEC = "Eq. 1"
N_SAMPLES, DIM = 5, 2
FORGET = (False, False, False, True, True)
lam = sp.Symbol("lambda", positive=True)
W = sp.symbols("w1:3", real=True)
X = sp.Matrix(N_SAMPLES, DIM, lambda i, j: sp.Symbol(f"x{i}{j}", real=True))
Y = sp.symbols("y0:5", real=True)
V = sp.symbols("v0:5", positive=True)
m = sp.Symbol("m", real=True)

LOSSES = {"exp": sp.exp(-m), "logistic": sp.log(1 + sp.exp(-m))}


def _margin(i: int) -> sp.Expr:
    return Y[i] * sum(W[k] * X[i, k] for k in range(DIM))


def objectives(loss: str) -> dict[str, sp.Expr]:
    """``L_D``, ``L_R``, ``L_DA`` on the symbolic data set (paper Eq. 1, weighted)."""
    ell = LOSSES[loss]
    terms = [V[i] * ell.subs(m, _margin(i)) for i in range(N_SAMPLES)]
    ridge = lam / 2 * sum(wk**2 for wk in W)
    nR = sum(V[i] for i in range(N_SAMPLES) if not FORGET[i])
    nF = sum(V[i] for i in range(N_SAMPLES) if FORGET[i])
    sR = sum(t for t, f in zip(terms, FORGET, strict=True) if not f)
    sF = sum(t for t, f in zip(terms, FORGET, strict=True) if f)
    return {
        "D": (sR + sF) / (nR + nF) + ridge,
        "R": sR / nR + ridge,
        "DA": sR / nR - sF / nF + ridge,
    }


def closed_form_gradient(loss: str, key: str) -> list[sp.Expr]:
    """``-(1/N) sum_i s_i v_i l'(m_i) y_i x_i + lambda w`` with ``s_i = -1`` on ``F`` for DA."""
    dl = sp.diff(LOSSES[loss], m)
    nR = sum(V[i] for i in range(N_SAMPLES) if not FORGET[i])
    nF = sum(V[i] for i in range(N_SAMPLES) if FORGET[i])
    out = []
    for k in range(DIM):
        g = lam * W[k]
        for i in range(N_SAMPLES):
            term = V[i] * dl.subs(m, _margin(i)) * Y[i] * X[i, k]
            if key == "D":
                g += term / (nR + nF)
            elif not FORGET[i]:
                g += term / nR
            elif key == "DA":
                g -= term / nF
        out.append(g)
    return out


def derivation(loss: str = "exp", key: str = "DA") -> list[sp.Expr]:
    """The gradient of one objective by ``sympy.diff``."""
    L = objectives(loss)[key]
    return [sp.diff(L, wk) for wk in W]


def check(fast: bool = True) -> CheckResult:
    """Run every claim about the objectives."""
    enable_x64()
    rec = Recorder("objectives")
    for loss in LOSSES:
        dl = sp.diff(LOSSES[loss], m)
        for key in ("D", "R", "DA"):
            diffs = derivation(loss, key)
            closed = closed_form_gradient(loss, key)
            resid = [a - b for a, b in zip(diffs, closed, strict=True)]
            rec.symbolic(
                f"gradient.{loss}.L_{key}",
                SEC,
                resid,
                f"diff(L_{key}) = -(1/N) sum v_i l'(m_i) y_i x_i + lambda w, l'(m) = {dl}",
                latex=rf"\ell'(m) = {sp.latex(sp.simplify(dl))}" if key == "D" else "",
            )
    # exponential loss: L_DA unbounded below; logistic: bounded below
    w, r, f = sp.symbols("w r f", real=True)
    fr = sp.Symbol("delta", positive=True)  # f = r + delta: the forget weight dominates
    lda_exp = (r - (r + fr)) * sp.exp(-w) + lam / 2 * w**2
    lim = sp.limit(lda_exp, w, -sp.oo)
    rec.equal(
        "bounded.exp_unbounded",
        SEC,
        lim,
        -sp.oo,
        "exp loss, one coordinate, forget weight r + delta > r: lim_{w->-oo} L_DA = -oo",
        latex=rf"\lim_{{w\to-\infty}} \left({sp.latex(lda_exp)}\right) = -\infty",
    )
    s, Xn = sp.symbols("s X", positive=True)
    # log(1 + e^{-m}) <= ln 2 + |m| <= ln 2 + X ||w||  =>  L_DA >= -ln 2 - X s + lambda s^2 / 2
    lower = -sp.log(2) - Xn * s + lam / 2 * s**2
    smin = sp.solve(sp.diff(lower, s), s)
    bound = sp.simplify(lower.subs(s, smin[0]))
    rec.symbolic(
        "bounded.logistic_lower_bound",
        SEC,
        bound - (-sp.log(2) - Xn**2 / (2 * lam)),
        "logistic: L_DA >= min_s(-ln 2 - X s + lambda s^2/2) = -ln 2 - X^2/(2 lambda)",
        latex=rf"L_{{DA}}(w) \ge {sp.latex(bound)}",
    )
    del f

    rec.guarded("library.objectives", SEC, "library", lambda: _library(rec, fast))
    return rec.result()


def _random_data(g):
    x = g.normal(size=(N_SAMPLES, DIM))
    y = g.choice([-1.0, 1.0], size=N_SAMPLES)
    v = g.uniform(0.5, 3.0, size=N_SAMPLES)
    return x, y, v


def _library(rec, fast):
    lib = {"D": aj.pretrain_objective, "R": aj.retain_objective, "DA": aj.da_objective}
    g = rng(2)
    n_w = 64 if fast else 2048
    x, y, v = _random_data(g)
    data = aj.Dataset(
        x=jnp.asarray(x), y=jnp.asarray(y), forget=jnp.asarray(FORGET), weight=jnp.asarray(v)
    )
    ws = g.normal(scale=1.5, size=(n_w, DIM))
    lamv = 0.1
    subs_args = (*W, *X, *Y, *V, lam)
    flat = (*x.reshape(-1), *y, *v, lamv)
    for loss in LOSSES:
        objs = objectives(loss)
        for key in ("D", "R", "DA"):
            f_val = sp.lambdify(subs_args, objs[key], "numpy")
            f_grad = sp.lambdify(subs_args, closed_form_gradient(loss, key), "numpy")
            want = np.array([f_val(*wi, *flat) for wi in ws])
            wantg = np.array([f_grad(*wi, *flat) for wi in ws])
            fn = lib[key]
            got = np.asarray(
                jax.vmap(lambda wi, fn=fn, loss=loss: fn(wi, data, lamv, loss))(jnp.asarray(ws))
            )
            gotg = np.asarray(
                jax.vmap(jax.grad(lambda wi, fn=fn, loss=loss: fn(wi, data, lamv, loss)))(
                    jnp.asarray(ws)
                )
            )
            rec.close(
                f"library.{loss}.L_{key}",
                SEC,
                np.concatenate([got, gotg.ravel()]),
                np.concatenate([want, wantg.ravel()]),
                rtol=1e-12,
                atol=1e-12,
                detail=f"{fn.__name__}(loss={loss!r}) and jax.grad vs lambdified sympy, "
                f"{n_w} random w (rtol 1e-12: float64 sums of 5 terms)",
            )
    # gradient descent endpoints: the derived gradient vanishes there
    rules = {"D": aj.pretrain, "R": aj.retrain, "DA": aj.simultaneous_da}
    steps = 3000 if fast else 20000
    for key, rule_fn in rules.items():
        loss = "logistic"  # bounded below for every objective (exp L_DA may diverge)
        f_grad = sp.lambdify(subs_args, closed_form_gradient(loss, key), "numpy")
        traj = aj.run_rule(rule_fn(0.5, lam=lamv, loss=loss), jnp.zeros(DIM), data, steps=steps)
        wend = np.asarray(traj.final)
        gn = float(np.linalg.norm(f_grad(*wend, *flat)))
        rec.numeric(
            f"simulation.gd_stationary.L_{key}",
            SEC,
            "simulation",
            gn,
            1,
            1e-8,
            f"|derived grad L_{key}| at the end of {steps} library GD steps (logistic, "
            "lambda=0.1: strongly convex for D,R, linear rate; tol 1e-8)",
        )
