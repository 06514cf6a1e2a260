"""Random forget sets (THEORY.md §4, Lemma 1): bound, sampling, data, accuracy, oracle.

References are independent of the code under test: the Hoeffding sum of squared
ranges written out term by term, the exact distribution of the gap of two
binomial means (scipy.stats.binom), scipy/sklearn solutions of the same ridge
problem, plain NumPy accuracies, chi-square tests of uniformity (scipy.stats)
and the Dvoretzky–Kiefer–Wolfowitz (Massart) band for the Monte-Carlo tail.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import scipy.stats
from sklearn.linear_model import LogisticRegression

import ascentjax as aj

LAM = 0.02


def _hoeffding_reference(t: float, n_f: int, n_t: int) -> float:
    """Hoeffding for a sum of independent terms, with every term's range listed."""
    ranges = [1.0 / n_f] * n_f + [1.0 / n_t] * n_t
    return 2.0 * math.exp(-2.0 * t**2 / sum(r * r for r in ranges))


# ----------------------------------------------------------------------------- the bound
@pytest.mark.parametrize("n_f,n_t", [(1, 1), (10, 100), (50, 1000), (500, 500)])
@pytest.mark.parametrize("t", [0.0, 0.05, 0.2, 0.7])
def test_bound_matches_term_by_term_hoeffding(t, n_f, n_t) -> None:
    got = float(aj.theory.lemma1_bound(t, n_f, n_t))
    # float64 evaluation of one exp: agreement to a few ulp
    assert got == pytest.approx(_hoeffding_reference(t, n_f, n_t), rel=1e-13)


@pytest.mark.parametrize("p", [0.55, 0.8, 0.97])
@pytest.mark.parametrize("n_f,n_t", [(5, 20), (20, 200)])
def test_bound_dominates_exact_binomial_gap_tail(p, n_f, n_t) -> None:
    """Exact P(|A/n_f - B/n_t| >= t) for independent binomials is below the bound for all t."""
    a = np.arange(n_f + 1)
    b = np.arange(n_t + 1)
    joint = np.outer(scipy.stats.binom.pmf(a, n_f, p), scipy.stats.binom.pmf(b, n_t, p))
    gap = np.abs(a[:, None] / n_f - b[None, :] / n_t)
    for t in np.unique(gap):
        exact = joint[gap >= t - 1e-12].sum()
        assert exact <= float(aj.theory.lemma1_bound(t, n_f, n_t)) + 1e-12


def test_threshold_inverts_bound_and_transforms() -> None:
    deltas = jnp.array([1e-6, 0.01, 0.05, 0.5, 1.0])
    t = aj.theory.lemma1_threshold(deltas, 40, 300)
    np.testing.assert_allclose(aj.theory.lemma1_bound(t, 40, 300), deltas, rtol=1e-12)
    # jit / vmap agree with eager; grad of the bound in t is the analytic derivative
    f = jax.jit(jax.vmap(aj.theory.lemma1_bound, in_axes=(0, None, None)))
    np.testing.assert_allclose(f(t, 40, 300), aj.theory.lemma1_bound(t, 40, 300), rtol=1e-14)
    s = 1 / 40 + 1 / 300
    for tv in (0.01, 0.1, 0.3):
        want = -4 * tv / s * 2 * math.exp(-2 * tv**2 / s)
        assert float(jax.grad(aj.theory.lemma1_bound)(tv, 40, 300)) == pytest.approx(
            want, rel=1e-12
        )
    # float32 in, float32 out
    assert aj.theory.lemma1_bound(jnp.float32(0.1), 10, 10).dtype == jnp.float32


@pytest.mark.parametrize(
    "args,name",
    [((-0.1, 10, 10), "t"), ((0.1, 0, 10), "n_forget"), ((0.1, 10, -1), "n_test")],
)
def test_bound_rejects_bad_input(args, name) -> None:
    with pytest.raises(ValueError, match=name):
        aj.theory.lemma1_bound(*args)


def test_threshold_rejects_bad_delta() -> None:
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="delta"):
            aj.theory.lemma1_threshold(bad, 10, 10)


def test_tail_frequency_matches_numpy() -> None:
    g = np.random.default_rng(0).normal(size=1000) * 0.1
    ts = np.linspace(0, 0.4, 17)
    want = [(np.abs(g) >= t).mean() for t in ts]
    # the same counts over 1000 draws; the division may round differently by 1 ulp
    np.testing.assert_allclose(aj.theory.tail_frequency(g, ts), want, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="gaps"):
        aj.theory.tail_frequency(np.zeros((2, 2)), 0.1)


# ----------------------------------------------------------------------------- forget masks
def test_forget_mask_count_and_uniform_over_subsets(key) -> None:
    n, k, draws = 5, 2, 20000
    masks = np.asarray(
        jax.vmap(lambda kk: aj.sample_forget_mask(kk, n, k))(jax.random.split(key, draws))
    )
    assert masks.shape == (draws, n) and masks.dtype == bool
    assert np.all(masks.sum(1) == k)
    subsets = list(itertools.combinations(range(n), k))
    index = {s: i for i, s in enumerate(subsets)}
    counts = np.bincount([index[tuple(np.flatnonzero(m))] for m in masks], minlength=len(subsets))
    # all C(5, 2) = 10 subsets equally likely: chi-square goodness of fit; the key is
    # fixed, so this is deterministic; a p-value below 1e-4 would flag a biased sampler
    assert scipy.stats.chisquare(counts).pvalue > 1e-4


@pytest.mark.parametrize("n_forget", [0, -3, 10, 11])
def test_forget_mask_refuses_bad_sizes(key, n_forget) -> None:
    with pytest.raises(ValueError, match=r"n_forget.*1 <= n_forget < n"):
        aj.sample_forget_mask(key, 10, n_forget)


def test_forget_mask_fractional_and_traced_sizes(key) -> None:
    with pytest.raises(ValueError, match="n_forget"):
        aj.sample_forget_mask(key, 10, 2.5)
    with pytest.raises(TypeError, match="n"):
        jax.jit(lambda k, m: aj.sample_forget_mask(k, m, 3))(key, 10)
    # a traced forget count only sets values: one compiled function for several sizes
    sizes = jnp.array([1, 4, 9])
    masks = jax.jit(jax.vmap(lambda m: aj.sample_forget_mask(key, 10, m)))(sizes)
    np.testing.assert_array_equal(masks.sum(1), sizes)


# ----------------------------------------------------------------------------- data
def test_gaussian_mixture_bayes_accuracy_and_balance(key) -> None:
    n, s = 40000, 1.3
    data = aj.gaussian_mixture_data(key, n, 3, s)
    bayes = scipy.stats.norm.cdf(s / 2)
    acc = float(aj.accuracy(jnp.array([1.0, 0.0, 0.0]), data.x, data.y))
    se = math.sqrt(bayes * (1 - bayes) / n)
    assert abs(acc - bayes) < 4 * se  # binomial standard error, 4 sd
    assert abs(float(data.y.mean())) < 4 / math.sqrt(n)
    yx = np.asarray(data.y[:, None] * data.x).mean(0)
    np.testing.assert_allclose(yx, [s / 2, 0, 0], atol=4 / math.sqrt(n))
    assert aj.gaussian_mixture_data(key, 5, 2, 1.0, dtype=jnp.float32).x.dtype == jnp.float32
    with pytest.raises(ValueError, match="separation"):
        aj.gaussian_mixture_data(key, 5, 2, -1.0)
    with pytest.raises(ValueError, match="dim"):
        aj.gaussian_mixture_data(key, 5, 0, 1.0)


def test_resample_split_is_iid_from_pool(key) -> None:
    pool_x = jnp.arange(7.0)[:, None]
    pool_y = jnp.where(jnp.arange(7) % 2 == 0, 1.0, -1.0)
    train, test = aj.resample_split(key, pool_x, pool_y, 30000, 5)
    idx = np.asarray(train.x[:, 0]).astype(int)
    np.testing.assert_array_equal(np.asarray(train.y), np.asarray(pool_y)[idx])
    assert scipy.stats.chisquare(np.bincount(idx, minlength=7)).pvalue > 1e-4
    assert test.x.shape == (5, 1) and not bool(train.forget.any())
    with pytest.raises(ValueError, match="n_train"):
        aj.resample_split(key, pool_x, pool_y, 1, 5)


# ----------------------------------------------------------------------------- accuracy
def test_accuracy_matches_numpy_and_masks(key) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3))
    y = np.where(rng.random(50) < 0.5, 1.0, -1.0)
    w = rng.normal(size=3)
    mask = rng.random(50) < 0.3
    correct = y * (x @ w) > 0
    assert float(aj.accuracy(w, x, y)) == pytest.approx(correct.mean(), abs=1e-15)
    assert float(aj.accuracy(w, x, y, mask)) == pytest.approx(correct[mask].mean(), abs=1e-15)
    # zero margin is an error; empty weight gives 0, not NaN
    assert float(aj.accuracy(jnp.zeros(3), x, y)) == 0.0
    assert float(aj.accuracy(w, x, y, np.zeros(50, bool))) == 0.0
    batched = jax.jit(jax.vmap(aj.accuracy, in_axes=(0, None, None)))(np.stack([w, -w]), x, y)
    np.testing.assert_allclose(batched, [correct.mean(), (y * (x @ -w) > 0).mean()])


# ----------------------------------------------------------------------------- the oracle
def _data(key, n=120, d=4, n_forget=30, s=1.2):
    k1, k2 = jax.random.split(key)
    data = aj.gaussian_mixture_data(k1, n, d, s)
    return data._replace(forget=aj.sample_forget_mask(k2, n, n_forget))


def test_oracle_matches_sklearn_logistic_regression(key) -> None:
    data = _data(key)
    keep = ~np.asarray(data.forget)
    # nonuniform multiplicities: sklearn's sample_weight; C = 1 / (lam * sum of retain weights)
    weight = np.asarray(jax.random.uniform(jax.random.key(7), (120,), minval=0.5, maxval=2.0))
    data = data._replace(weight=jnp.asarray(weight))
    w = np.asarray(aj.train_oracle(data, LAM, loss="logistic"))
    clf = LogisticRegression(
        C=1 / (LAM * weight[keep].sum()), fit_intercept=False, tol=1e-13, max_iter=100000
    )
    clf.fit(np.asarray(data.x)[keep], np.asarray(data.y)[keep], sample_weight=weight[keep])
    # both solve a strongly convex problem to ~1e-10 gradient; the minimiser agrees to
    # grad/lam ~ 1e-8 (lbfgs in sklearn is the looser of the two)
    np.testing.assert_allclose(w, clf.coef_[0], atol=1e-7)


def test_oracle_matches_scipy_for_exp_loss(key) -> None:
    data = _data(jax.random.fold_in(key, 1), s=2.0)
    keep = ~np.asarray(data.forget)
    x = np.asarray(data.x)[keep] * np.asarray(data.y)[keep][:, None]

    def f(w):
        e = np.exp(-(x @ w))
        return e.mean() + 0.5 * LAM * w @ w, -(x * e[:, None]).mean(0) + LAM * w

    ref = scipy.optimize.minimize(f, np.zeros(4), jac=True, method="BFGS", tol=1e-14).x
    w = np.asarray(aj.train_oracle(data, LAM, loss="exp"))
    # BFGS stops at gradient ~1e-9; strong convexity (lam = 0.02) turns that into ~1e-7
    np.testing.assert_allclose(w, ref, atol=1e-6)


def test_oracle_ignores_forget_rows_and_pretrains_with_empty_mask(key) -> None:
    data = _data(key)
    keep = ~np.asarray(data.forget)
    retain_only = data._replace(
        x=data.x[keep],
        y=data.y[keep],
        forget=jnp.zeros(int(keep.sum()), bool),
        weight=data.weight[keep],
    )
    np.testing.assert_allclose(
        aj.train_oracle(data, LAM, loss="logistic"),
        aj.train_oracle(retain_only, LAM, loss="logistic"),
        atol=1e-12,
    )
    w_d = aj.train_oracle(data._replace(forget=jnp.zeros(120, bool)), LAM, loss="logistic")
    g = jax.grad(aj.pretrain_objective)(w_d, data, LAM, "logistic")
    assert float(jnp.abs(g).max()) < 1e-12


def test_oracle_float32_vmap_jit_and_implicit_grad(key) -> None:
    keys = jax.random.split(key, 3)
    batch = jax.vmap(lambda k: _data(k))(keys)
    single = jax.jit(lambda d, lam: aj.train_oracle(d, lam, loss="logistic"))
    f64 = jax.jit(jax.vmap(lambda d: aj.train_oracle(d, LAM, loss="logistic")))(batch)
    for i in range(3):
        one = jax.tree_util.tree_map(lambda a, i=i: a[i], batch)
        np.testing.assert_allclose(f64[i], single(one, LAM), atol=1e-12)
    b32 = jax.tree_util.tree_map(
        lambda a: a.astype(jnp.float32) if a.dtype == jnp.float64 else a, batch
    )
    f32 = jax.vmap(lambda d: aj.train_oracle(d, LAM, loss="logistic"))(b32)
    assert f32.dtype == jnp.float32
    # float32 gradient resolution ~1e-7 over lam = 0.02 curvature: ~1e-5 in w
    np.testing.assert_allclose(f32, f64, atol=1e-4)
    # d w_R / d lam by the implicit function theorem vs a central difference
    one = jax.tree_util.tree_map(lambda a: a[0], batch)

    @jax.jit
    def first(lam):
        return aj.train_oracle(one, lam, loss="logistic")[0]

    h = 1e-5
    fd = (first(LAM + h) - first(LAM - h)) / (2 * h)
    # central difference error O(h^2) ~ 1e-10 plus solver noise 1e-12/h ~ 1e-7
    assert float(jax.jit(jax.grad(first))(LAM)) == pytest.approx(float(fd), rel=1e-5)


def test_oracle_refuses_bad_input(key) -> None:
    data = _data(key)
    for lam in (0.0, -1.0):
        with pytest.raises(ValueError, match="lam"):
            aj.train_oracle(data, lam, loss="logistic")
    with pytest.raises(ValueError, match="max_iter"):
        aj.train_oracle(data, LAM, max_iter=0, loss="logistic")


# ----------------------------------------------------------------------------- Lemma 1 by MC
def _gaps(key, draws, n, n_forget, n_test, pretrained=False):
    def one(k):
        kd, kt, kf = jax.random.split(k, 3)
        data = aj.gaussian_mixture_data(kd, n, 2, 1.0)
        test = aj.gaussian_mixture_data(kt, n_test, 2, 1.0)
        mask = aj.sample_forget_mask(kf, n, n_forget)
        fit = data if pretrained else data._replace(forget=mask)
        w = aj.train_oracle(fit, LAM, loss="logistic")
        return aj.accuracy(w, data.x, data.y, mask) - aj.accuracy(w, test.x, test.y)

    return np.asarray(jax.jit(jax.vmap(one))(jax.random.split(key, draws)))


def test_monte_carlo_tail_respects_lemma1(key) -> None:
    draws, n, nf, nt = 3000, 60, 10, 60
    gaps = _gaps(key, draws, n, nf, nt)
    # sup over t of (tail frequency - bound): exact at the attained |gap| values
    ts = np.unique(np.abs(gaps))
    excess = np.max(
        np.asarray(aj.theory.tail_frequency(gaps, ts))
        - np.minimum(1, aj.theory.lemma1_bound(ts, nf, nt))
    )
    # DKW (Massart): P(sup_t |q_hat - q| > eps) <= 2 exp(-2 N eps^2); eps at level 1e-3
    eps = math.sqrt(math.log(2 / 1e-3) / (2 * draws))
    assert excess <= eps
    # the gap is centred: forget points are fresh draws like test points (4 sd)
    assert abs(gaps.mean()) < 4 * gaps.std() / math.sqrt(draws)


def test_monte_carlo_negative_control_pretrained_model(key) -> None:
    """A model trained on F (the pretrained one) is optimistic on F: the gap is not centred.

    This shows the centring check above can fail: the same statistic flags a model that
    has seen the forget points.
    """
    draws = 3000
    gaps = _gaps(key, draws, 60, 10, 60, pretrained=True)
    assert gaps.mean() > 4 * gaps.std() / math.sqrt(draws)


# ----------------------------------------------------------------------------- verdict
def test_dkw_band_matches_massart_and_bonferroni() -> None:
    # 2 exp(-2 N eps^2) = level / n_tests at the returned eps (solved here by bisection)
    n, level, k = 1000, 0.01, 4
    eps = scipy.optimize.brentq(lambda e: 2 * math.exp(-2 * n * e * e) - level / k, 1e-6, 1.0)
    assert aj.theory.dkw_band(n, level=level, n_tests=k) == pytest.approx(eps, rel=1e-10)
    with pytest.raises(ValueError, match="level"):
        aj.theory.dkw_band(100, level=1.5)
    with pytest.raises(ValueError, match="draws"):
        aj.theory.dkw_band(0)


def test_lemma1_verdict_flags_a_violation_beyond_the_band() -> None:
    """The verdict is not vacuous: gaps far above the bound's scale are flagged."""
    gaps = np.full(1000, 0.9)  # |gap| = 0.9 always, bound(0.9; 5, 60) ~ 0.001
    res = aj.theory.lemma1_verdict(gaps, 5, 60, eps=0.05)
    assert res.violation and res.max_excess > 0.9
    ok = aj.theory.lemma1_verdict(np.zeros(1000), 5, 60, eps=0.05)
    assert not ok.violation and ok.bound_vacuous_at_every_attained_t


def test_lemma1_verdict_sup_matches_a_plain_numpy_scan() -> None:
    rng = np.random.default_rng(0)
    gaps = rng.normal(0.0, 0.08, 500)
    nf, nt = 50, 400
    ts = np.unique(np.abs(gaps))
    q = (np.abs(gaps)[:, None] >= ts[None, :]).mean(axis=0)
    b = np.minimum(1.0, 2 * np.exp(-2 * ts**2 / (1 / nf + 1 / nt)))
    ex = np.where(b < 1, q - b, -np.inf)
    res = aj.theory.lemma1_verdict(gaps, nf, nt, eps=0.01)
    assert res.max_excess == pytest.approx(ex.max(), abs=1e-12)
    assert res.t_at_max_excess == ts[np.argmax(ex)]
    assert res.violation == (ex.max() > 0.01)


def test_breast_cancer_pool_is_the_standardised_sklearn_table() -> None:
    # independent reference: scikit-learn's own table, standardised here in NumPy
    from sklearn.datasets import load_breast_cancer

    x, t = load_breast_cancer(return_X_y=True)
    pool = aj.breast_cancer_data(dtype=jnp.float64)
    assert pool.x.shape == (569, 31) and pool.x.dtype == jnp.float64
    np.testing.assert_allclose(pool.x[:, :30], (x - x.mean(0)) / x.std(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(pool.x[:, 30], 1.0)
    # 357 benign (+1) and 212 malignant (-1) tumours: the table's documented class counts
    assert int((pool.y == 1).sum()) == 357 and int((pool.y == -1).sum()) == 212
    assert not bool(pool.forget.any()) and bool((pool.weight == 1).all())
    assert aj.breast_cancer_data(dtype=jnp.float32).x.dtype == jnp.float32
