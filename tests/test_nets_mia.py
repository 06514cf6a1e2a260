"""Membership inference (loss threshold, per-example likelihood ratio) against
independent references: scikit-learn's ``roc_auc_score`` / ``roc_curve``, SciPy's normal
log-density, and constructed Gaussian cases whose answer is known in closed form."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from ascentjax import nets


def _ref_tpr(pos, neg, f):
    """Best ROC point at FPR <= f from scikit-learn's curve (every threshold kept)."""
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    fpr, tpr, _ = roc_curve(labels, np.r_[pos, neg], drop_intermediate=False)
    return tpr[fpr <= f].max()


@pytest.mark.parametrize("seed", [0])
def test_auc_and_tpr_match_scikit_learn_with_ties(seed):
    rng = np.random.default_rng(seed)
    pos = np.round(rng.normal(0.7, 1.0, (3, 137)), 1)  # rounding makes many ties
    neg = np.round(rng.normal(0.0, 1.0, (3, 211)), 1)
    got = np.asarray(nets.roc_auc(pos, neg))
    for i in range(3):
        ref = roc_auc_score(np.r_[np.ones(137), np.zeros(211)], np.r_[pos[i], neg[i]])
        assert got[i] == pytest.approx(ref, rel=1e-12)  # exact counts; float64 division
        for f in (0.0, 0.001, 0.01, 0.05, 0.3, 1.0):
            assert float(nets.tpr_at_fpr(pos[i], neg[i], f)) == _ref_tpr(pos[i], neg[i], f)
    # jit and vmap give the same numbers
    np.testing.assert_array_equal(jax.jit(nets.roc_auc)(pos, neg), got)
    np.testing.assert_array_equal(jax.vmap(nets.roc_auc)(pos, neg), got)
    tpr = jax.jit(nets.tpr_at_fpr, static_argnums=2)(pos, neg, 0.05)
    np.testing.assert_array_equal(tpr, jax.vmap(lambda p, n: nets.tpr_at_fpr(p, n, 0.05))(pos, neg))


def test_non_finite_scores_and_bad_input():
    assert np.isnan(float(nets.roc_auc(jnp.array([1.0, jnp.nan]), jnp.array([0.0]))))
    assert np.isnan(float(nets.tpr_at_fpr(jnp.array([1.0]), jnp.array([jnp.inf]), 0.1)))
    with pytest.raises(ValueError, match="fpr"):
        nets.tpr_at_fpr(jnp.ones(3), jnp.ones(3), 1.5)
    with pytest.raises(ValueError, match="leading shapes"):
        nets.roc_auc(jnp.ones((2, 3)), jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="oracle_forget"):
        nets.unlearning_mia(jnp.ones((4, 2)), jnp.ones((4, 3)), jnp.ones((3, 2)), jnp.ones((4, 2)))
    with pytest.raises(ValueError, match="min_std"):
        nets.likelihood_ratio_scores(
            jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.ones((2, 3)), min_std=0
        )


def test_likelihood_ratio_scores_match_scipy():
    rng = np.random.default_rng(3)
    inn, out = rng.normal(1.0, 2.0, (20, 7)), rng.normal(-1.0, 0.5, (30, 7))
    phi = rng.normal(size=(5, 7))
    ref = stats.norm.logpdf(phi, inn.mean(0), inn.std(0)) - stats.norm.logpdf(
        phi, out.mean(0), out.std(0)
    )
    got = np.asarray(nets.likelihood_ratio_scores(phi, inn, out))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)  # float64, same formula
    # a column of equal margins: the standard deviation is floored, not zero
    flat = np.asarray(nets.likelihood_ratio_scores(phi, np.zeros((4, 7)), out, min_std=0.1))
    assert np.isfinite(flat).all()


def _world(key, n_models=64, points=50, shift=2.0):
    """Per-example margin laws: out N(mu_x, 1), in N(mu_x + shift, 1), mu_x ~ N(0, 2^2)."""
    k = jax.random.split(key, 6)
    mu = 2.0 * jax.random.normal(k[0], (points,))

    def draw(kk, s):
        return mu + s + jax.random.normal(kk, (n_models, points))

    return draw(k[1], shift), draw(k[2], 0.0), draw(k[3], shift), draw(k[4], 0.0), draw(k[5], 0.0)


def test_lira_identical_ensembles_are_at_chance_and_pretrained_is_detected():
    pre_fit, out_fit, pre_new, orc_new, orc_heldout = _world(jax.random.key(0))
    # an "unlearned" ensemble drawn like the oracle: indistinguishable. 3,200 scores per
    # side: the AUC's standard error is about 0.007 (0.02 leaves room for the fits)
    same = nets.likelihood_ratio_attack(orc_new, orc_heldout, pre_fit, out_fit)
    assert abs(float(same.auc) - 0.5) < 0.02
    assert np.all(np.asarray(same.tpr) < 0.03)
    # the pretrained ensemble (trained with the points): with equal unit variances the
    # likelihood ratio is increasing in phi - mu_x, so the ideal AUC is Phi(shift / sqrt 2)
    # = 0.921 and the TPR at 1 % FPR is 1 - Phi(z_0.99 - shift) = 0.372; the fitted
    # Gaussians (64 models) cost a little: tolerances 0.03 and 0.08
    hit = nets.likelihood_ratio_attack(pre_new, orc_heldout, pre_fit, out_fit, fprs=(0.01,))
    assert float(hit.auc) == pytest.approx(stats.norm.cdf(2.0 / np.sqrt(2)), abs=0.03)
    assert float(hit.tpr[0]) == pytest.approx(
        1 - stats.norm.cdf(stats.norm.ppf(0.99) - 2), abs=0.08
    )


def test_loss_threshold_and_the_combined_report():
    pre_fit, out_fit, pre_new, orc_new, orc_heldout = _world(jax.random.key(1), shift=1.0)
    test = orc_heldout[::-1]  # non-members drawn like the oracle (same per-example law)
    # members shifted by 1 against non-members of the same per-point law: per model the
    # AUC is P(mu_i + 1 + e > mu_j + e') over random points, a mixture; the oracle is 0.5
    orc_loss = nets.loss_threshold_attack(orc_new, test)
    assert orc_loss.auc.shape == (64,) and orc_loss.tpr.shape == (64, 2)
    assert abs(float(orc_loss.auc.mean()) - 0.5) < 0.03
    pre_loss = nets.loss_threshold_attack(pre_new, test)
    assert float(pre_loss.auc.mean()) > 0.6
    stacked = jnp.concatenate([out_fit, orc_heldout])  # 128 oracle models: fit half, held out
    good = nets.unlearning_mia(orc_new, test, stacked, pre_fit)
    bad = nets.unlearning_mia(pre_new, test, stacked, pre_fit)
    assert abs(float(good.lira.auc) - 0.5) < 0.03 and float(bad.lira.auc) > 0.7
    assert float(good.loss.auc) == pytest.approx(float(orc_loss.auc.mean()), rel=1e-12)
    # jit of the whole report
    jitted = jax.jit(nets.unlearning_mia)(pre_new, test, stacked, pre_fit)
    np.testing.assert_allclose(jitted.lira.auc, bad.lira.auc, rtol=1e-12)
