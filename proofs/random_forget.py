"""Random forget sets (paper Sec. 4, Lemma 1).

When ``F`` is a uniformly random subset of ``D``, the oracle (trained on ``R`` only) sees
the forget points as fresh draws from the data distribution, exactly like the test points.
Hoeffding's inequality applied to the difference of the two accuracy means gives

    P(|Acc_F - Acc_T| >= t) <= 2 exp(-2 t^2 / (1/|F| + 1/|T|)).

Derived with sympy: the sum of squared ranges of the ``|F| + |T|`` independent terms, the
zero mean of the gap, and the inverted bound ``t(delta)``. Checked against the library's
bound and by Monte Carlo, both with Bernoulli correctness indicators and with a classifier
actually trained on a random retain set.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

import ascentjax as aj

from ._report import CheckResult, Recorder, enable_x64, fmt_point
from ._sym import rng

__all__ = ["check", "derivation"]

SEC = "Lemma 1"
nF, nT = sp.symbols("n_F n_T", positive=True, integer=True)
t, delta, p = sp.symbols("t delta p", positive=True)
i, j = sp.symbols("i j", integer=True, positive=True)


def derivation() -> sp.Expr:
    """Hoeffding's bound for the accuracy gap, with the variance proxy derived by sympy."""
    # Acc_F - Acc_T = sum_i a_i / n_F - sum_j b_j / n_T, a_i, b_j in {0, 1}: term ranges
    ranges_sq = sp.Sum((1 / nF) ** 2, (i, 1, nF)).doit() + sp.Sum((1 / nT) ** 2, (j, 1, nT)).doit()
    return 2 * sp.exp(-2 * t**2 / ranges_sq)


STATED = 2 * sp.exp(-2 * t**2 / (1 / nF + 1 / nT))


def check(fast: bool = True) -> CheckResult:
    """Run every Lemma 1 claim."""
    enable_x64()
    rec = Recorder("random_forget")
    bound = derivation()
    rec.symbolic(
        "hoeffding.bound",
        SEC,
        bound - STATED,
        "Hoeffding with ranges 1/|F| (|F| terms) and 1/|T| (|T| terms): "
        "sum of squared ranges = 1/|F| + 1/|T|",
        latex=r"P(|\mathrm{Acc}_F - \mathrm{Acc}_T| \ge t) \le " + sp.latex(sp.simplify(bound)),
    )
    mean = sp.Sum(p / nF, (i, 1, nF)).doit() - sp.Sum(p / nT, (j, 1, nT)).doit()
    rec.symbolic(
        "hoeffding.zero_mean",
        SEC,
        mean,
        "forget and test points are draws from one distribution: E[Acc_F - Acc_T] = p - p = 0",
    )
    sols = sp.solve(sp.Eq(STATED, delta), t)
    want = sp.sqrt((1 / nF + 1 / nT) * sp.log(2 / delta) / 2)
    ok = len(sols) == 1 and sp.simplify(sols[0] ** 2 - want**2) == 0
    rec.equal(
        "hoeffding.inverse",
        SEC,
        ok,
        True,
        "solving bound = delta for t > 0 gives t = sqrt((1/|F| + 1/|T|) ln(2/delta) / 2)",
        latex=r"t(\delta) = " + sp.latex(want),
    )

    # ------------------------------------------------------- Monte Carlo: Bernoulli model
    g = rng(4)
    reps = 4000 if fast else 100000
    f_bound = sp.lambdify((nF, nT, t), STATED, "numpy")
    worst, where, count = -np.inf, "", 0
    for nf in (10, 100, 500):
        for nt in (100, 1000):
            for pv in (0.6, 0.9):
                a = g.binomial(nf, pv, reps) / nf
                b = g.binomial(nt, pv, reps) / nt
                gap = np.abs(a - b)
                for tv in (0.05, 0.1, 0.2):
                    q = float(np.mean(gap >= tv))
                    bd = min(1.0, float(f_bound(nf, nt, tv)))
                    sd = max(np.sqrt(bd * (1 - bd) / reps), 1.0 / reps)
                    z = (q - bd) / sd
                    count += 1
                    if z > worst:
                        worst, where = z, fmt_point(nF=nf, nT=nt, p=pv, t=tv, freq=q, bound=bd)
    rec.numeric(
        "montecarlo.bernoulli",
        SEC,
        "simulation",
        max(worst, 0.0),
        count,
        4.0,
        f"frequency of |gap| >= t over {reps} draws minus the bound, in standard errors of the "
        "frequency (tol 4 sd: a false alarm has probability < 4e-5 per point)",
        counterexample=where,
    )
    _trained_oracle(rec, g, 300 if fast else 3000)
    rec.guarded("library.forget", SEC, "library", lambda: _library(rec, f_bound, g, fast))
    return rec.result()


def _trained_oracle(rec, g, reps):
    """A nearest-centroid classifier trained on a random retain set: F behaves like T."""
    n, nf, nt, dim = 400, 40, 400, 5
    mu = np.zeros(dim)
    mu[0] = 0.6
    y = g.choice([-1.0, 1.0], size=(reps, n + nt))
    x = y[..., None] * mu + g.normal(size=(reps, n + nt, dim))
    perm = np.argsort(g.random((reps, n)), axis=1)
    forget = np.zeros((reps, n), bool)
    np.put_along_axis(forget, perm[:, :nf], True, axis=1)
    xd, yd = x[:, :n], y[:, :n]
    keep = (~forget)[..., None]
    pos = ((yd > 0)[..., None] & keep) * xd
    neg = ((yd < 0)[..., None] & keep) * xd
    c_pos = pos.sum(1) / np.maximum(((yd > 0) & ~forget).sum(1, keepdims=True), 1)
    c_neg = neg.sum(1) / np.maximum(((yd < 0) & ~forget).sum(1, keepdims=True), 1)
    wv = c_pos - c_neg
    bv = -0.5 * (np.sum(c_pos**2, 1) - np.sum(c_neg**2, 1))
    correct = np.sign(np.einsum("rnd,rd->rn", x, wv) + bv[:, None]) == y
    acc_f = np.sum(correct[:, :n] & forget, 1) / nf
    acc_t = correct[:, n:].mean(1)
    gap = np.abs(acc_f - acc_t)
    worst, where = -np.inf, ""
    for tv in (0.05, 0.1, 0.15, 0.2):
        q = float(np.mean(gap >= tv))
        bd = min(1.0, 2 * np.exp(-2 * tv**2 / (1 / nf + 1 / nt)))
        sd = max(np.sqrt(bd * (1 - bd) / reps), 1.0 / reps)
        z = (q - bd) / sd
        if z > worst:
            worst, where = z, fmt_point(t=tv, freq=q, bound=bd)
    rec.numeric(
        "montecarlo.trained_oracle",
        SEC,
        "simulation",
        max(worst, 0.0),
        reps,
        4.0,
        f"nearest-centroid oracle trained on R (|D|={n}, random |F|={nf}, |T|={nt}, "
        f"{reps} draws): freq(|gap| >= t) - bound in standard errors (tol 4 sd)",
        counterexample=where,
    )


def _library(rec, f_bound, g, fast):
    """The library's bound, its inverse, and an end-to-end Monte Carlo."""
    lemma1_bound, lemma1_threshold = aj.theory.lemma1_bound, aj.theory.lemma1_threshold
    n = 500
    tv = g.uniform(0, 0.5, n)
    nf = np.round(10 ** g.uniform(0.5, 3, n))
    nt = np.round(10 ** g.uniform(1, 4, n))
    rec.close(
        "library.lemma1_bound",
        SEC,
        np.asarray(lemma1_bound(jnp.asarray(tv), jnp.asarray(nf), jnp.asarray(nt))),
        f_bound(nf, nt, tv),
        rtol=1e-14,
        detail=f"lemma1_bound vs lambdified sympy bound on {n} random (t, |F|, |T|)",
    )
    dv = 10 ** g.uniform(-6, 0, n)
    t_of = sp.lambdify((nF, nT, delta), sp.solve(sp.Eq(STATED, delta), t)[0], "numpy")
    rec.close(
        "library.lemma1_threshold",
        SEC,
        np.asarray(lemma1_threshold(jnp.asarray(dv), jnp.asarray(nf), jnp.asarray(nt))),
        t_of(nf, nt, dv),
        rtol=1e-13,
        detail="lemma1_threshold vs the sympy-solved inverse t(delta)",
    )
    gaussian_mixture_data, sample_forget_mask = aj.gaussian_mixture_data, aj.sample_forget_mask
    train_oracle, accuracy = aj.train_oracle, aj.accuracy
    n_total, n_forget, n_test, dim = 200, 20, 200, 3
    reps = 128 if fast else 2000

    def one(key):
        kd, kt, kf = jax.random.split(key, 3)
        data = gaussian_mixture_data(kd, n_total, dim, 1.5, dtype=jnp.float64)
        test = gaussian_mixture_data(kt, n_test, dim, 1.5, dtype=jnp.float64)
        mask = sample_forget_mask(kf, n_total, n_forget)
        w = train_oracle(
            data._replace(forget=mask), 0.01, max_iter=15, loss="logistic"
        )  # Newton: quadratic
        acc_f = accuracy(w, data.x, data.y, mask.astype(data.x.dtype))
        acc_t = accuracy(w, test.x, test.y)
        return acc_f - acc_t

    keys = jax.random.split(jax.random.key(11), reps)
    gaps = np.abs(np.asarray(jax.jit(jax.vmap(one))(keys)))
    worst, where = -np.inf, ""
    for tt in (0.1, 0.15, 0.2, 0.25):
        q = float(np.mean(gaps >= tt))
        bd = min(1.0, float(f_bound(n_forget, n_test, tt)))
        sd = max(np.sqrt(bd * (1 - bd) / reps), 1.0 / reps)
        z = (q - bd) / sd
        if z > worst:
            worst, where = z, fmt_point(t=tt, freq=q, bound=bd)
    rec.numeric(
        "engine.trained_oracle_montecarlo",
        SEC,
        "simulation",
        max(worst, 0.0),
        reps,
        4.0,
        f"ascentjax: Gaussian mixture |D|={n_total}, sample_forget_mask |F|={n_forget}, "
        f"train_oracle (logistic), |T|={n_test}, {reps} keys: freq(|gap| >= t) - bound in std. "
        "errors (tol 4)",
        counterexample=where,
    )
