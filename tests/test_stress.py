"""ascentjax.stress and sims.stress: the problem interface, the baselines, the settings, the
scorecard and the CLI, checked against references written here (scipy, numpy, the core rules).

Everything is tiny: one rho, a few alphas, a few steps; settings are module-scoped.
"""

from __future__ import annotations

import csv
import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

import ascentjax as aj
from ascentjax import stress as st

RHO, LAM = 0.8, 0.01
ALPHAS = (0.03, 0.05, 0.1)  # two inside the exact detrimental window at rho = 0.8, one past it


def identity(problem, learning_rate):
    """A method that returns the pretrained parameters unchanged."""
    return aj.UnlearningRule(lambda p: (), lambda p, s, d: (p, s))


# ----------------------------------------------------------------------------- references
def _loss(kind):
    if kind == "exp":
        return (lambda m: np.exp(-m), lambda m: -np.exp(-m), lambda m: np.exp(-m))
    sig = lambda m: 1 / (1 + np.exp(m))  # noqa: E731  (sigma(-m))
    return (lambda m: np.logaddexp(0, -m), lambda m: -sig(m), lambda m: sig(m) * (1 - sig(m)))


def _block_reference(kind, alpha):
    """Pretrained and oracle weights of the block by scipy (the counts written out here):
    50 retain samples at (1, rho), 50 alpha forget samples at (rho, 1), zero-margin filler up
    to |R| = 900 and |F| = 100."""
    f, df, d2f = _loss(kind)
    a, b = np.array([1.0, RHO]), np.array([RHO, 1.0])

    def l_r(w):
        return 50 * f(w @ a) / 900 + 0.5 * LAM * w @ w

    def l_d(w):
        return (50 * f(w @ a) + 50 * alpha * f(w @ b)) / 1000 + 0.5 * LAM * w @ w

    def g_d(w):
        return (50 * df(w @ a) * a + 50 * alpha * df(w @ b) * b) / 1000 + LAM * w

    def g_r(w):
        return 50 * df(w @ a) * a / 900 + LAM * w

    def h_r(w):
        return 50 * d2f(w @ a) * np.outer(a, a) / 900 + LAM * np.eye(2)

    opts = dict(method="BFGS", options={"gtol": 1e-13})
    w_r = optimize.minimize(l_r, np.ones(2), jac=g_r, **opts).x
    w_d = optimize.minimize(l_d, np.ones(2), jac=g_d, **opts).x
    newton = w_d - np.linalg.solve(h_r(w_d), g_r(w_d))
    return w_d, w_r, newton


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def blocks():
    return {
        loss: st.block_setting([RHO], ALPHAS, loss=loss, seeds=2, dtype=jnp.float64)
        for loss in ("exp", "logistic")
    }


@pytest.fixture(scope="module")
def coordinate():
    return st.one_coordinate_setting([0.1], [0.05, 0.115, 0.3], seeds=2, dtype=jnp.float64)


@pytest.fixture(scope="module")
def toy_and_random():
    return (
        st.toy_setting(seeds=2, dtype=jnp.float64),
        st.random_forget_setting(n_train=40, n_forget=4, n_test=20, seeds=4, dtype=jnp.float64),
    )


def _one(setting, g):
    """Problem and oracle of grid point g, seed 0."""
    i = g * setting.n_seeds
    pick = lambda a: a[i]  # noqa: E731
    return jax.tree_util.tree_map(pick, setting.problems), setting.oracle[i]


# ----------------------------------------------------------------------------- the truths
@pytest.mark.parametrize("loss", ["exp", "logistic"])
def test_settings_match_scipy_and_newton_removal_lands_on_the_oracle(blocks, loss):
    setting = blocks[loss]
    g = ALPHAS.index(0.05)
    problem, oracle = _one(setting, g)
    w_d, w_r, w_newton = _block_reference(loss, 0.05)
    # the exact solver and BFGS at gtol 1e-13 on a 2-d strongly convex problem agree far
    # below 1e-8
    np.testing.assert_allclose(problem.params0, w_d, rtol=1e-8)
    np.testing.assert_allclose(oracle, w_r, rtol=1e-8)
    w = aj.run_rule(st.newton(problem, 1.0), problem.params0, problem, steps=3).final
    np.testing.assert_allclose(w, w_newton, rtol=1e-10)  # the same Newton step, by numpy
    # Newton's error is quadratic in |w_D - w_R| ~ 0.03: within 1e-3 of the oracle relative
    # to its size, and R ~ 0.01 (0.0098 exp, 0.0065 logistic by the reference)
    assert np.linalg.norm(w - w_r) <= 1e-3 * np.linalg.norm(w_r)
    r = np.linalg.norm(w - w_r) / np.linalg.norm(w_d - w_r)
    assert r < 0.02
    res = st.evaluate(st.newton, setting, [1.0], steps=20)  # the CLI test's steps
    np.testing.assert_allclose(res["R"][0, g], r, rtol=1e-6)


def test_finetune_to_convergence_reaches_the_oracle_on_convex_settings(blocks, coordinate):
    for setting in (*blocks.values(), coordinate):
        res = st.evaluate(st.finetune, setting, [1.0], steps=3000)
        assert not res["diverged"].any()
        # linear convergence at rate <= 1 - mu/L per step; 3000 steps of 1/L reach 1e-8
        assert np.nanmax(res["R"]) < 1e-6, setting.name


def test_ascent_is_worse_than_nothing_inside_the_window_and_da_diverges_past_it(blocks):
    setting = blocks["exp"]
    # the exact solutions: DA <= pretrained <= oracle in both margins ("ordered") inside the
    # detrimental window; no DA stationary point past it
    sol = jax.vmap(lambda a: aj.theory.solve(aj.Block(RHO, a, LAM)))(jnp.asarray(ALPHAS))
    inside = np.asarray(sol.ordered) & np.asarray(sol.da.stationary)
    assert inside.tolist() == [True, True, False]
    da = st.evaluate(st.simultaneous_da, setting, [0.5], steps=3000)
    ga = st.evaluate(st.gradient_ascent, setting, [0.05], steps=10)
    ida = st.evaluate(st.iterative_da, setting, [0.5], steps=300)
    for g in np.flatnonzero(inside):
        assert not da["diverged"][0, g].any() and (da["R"][0, g] > 1).all()
        assert da["wrong_side"][0, g].all()
        # converged DA sits on L_DA's stationary point: R is the exact distance ratio
        exact = sol.dist_da_oracle[g] / sol.dist_pretrained_oracle[g]
        np.testing.assert_allclose(da["R"][0, g], exact, rtol=1e-6)
        assert (ga["R"][0, g] > 1).all() and (ida["R"][0, g] > 1).all()
    # alpha = 0.1: L_DA has no stationary point, DA diverges (never scored)
    g = ALPHAS.index(0.1)
    assert not bool(sol.da.stationary[g])
    assert da["diverged"][0, g].all() and np.isnan(da["R"][0, g]).all()


def test_identity_scores_one_everywhere(blocks, coordinate, toy_and_random):
    for setting in (blocks["exp"], coordinate, *toy_and_random):
        res = st.evaluate(identity, setting, [1.0], steps=2)
        np.testing.assert_allclose(res["R"], 1.0, rtol=1e-12)
        assert not res["diverged"].any()
        if "wrong_side" in res:
            assert not res["wrong_side"].any()
        entry, _ = st.scorecard(res, setting, [1.0])
        assert entry["median_R"] == pytest.approx(1.0) and entry["share_R_gt_1"] == 0.0


def test_toy_trap_and_random_forget_gap(toy_and_random):
    toy, rand = toy_and_random
    # paper Sec. 5.2: GDA ends in the retain objective's inferior basin and fine-tuning
    # stays there; fine-tuning from the pretrained model stays in the oracle's basin
    da = st.evaluate(st.simultaneous_da, toy, [0.25], steps=3000)
    ft = st.evaluate(st.finetune, toy, [0.25], steps=3000)
    assert da["trap"].all() and da["trap_after_finetune"].all()
    assert not ft["trap"].any()
    # the oracle's own gap, recomputed here with numpy
    p, w = rand.problems, np.asarray(rand.oracle[0])
    x, y, mask = np.asarray(p.x[0]), np.asarray(p.y[0]), np.asarray(p.forget_weight[0]) > 0
    acc_f = np.mean((y * (x @ w) > 0)[mask])
    tx, ty = np.asarray(rand.extra["test_x"][0]), np.asarray(rand.extra["test_y"][0])
    acc_t = np.mean(ty * (tx @ w) > 0)
    res = st.evaluate(st.retrain, rand, [1.0], steps=300)
    assert res["oracle_gap"][0, 0] == pytest.approx(acc_f - acc_t, abs=1e-12)
    entry, _ = st.scorecard(res, rand, [1.0])
    assert entry["lemma1_reject"] is False and entry["median_R"] < 1e-6


# ----------------------------------------------------------------------------- interface
def test_generic_baselines_take_the_core_rules_steps(blocks):
    problem, _ = _one(blocks["logistic"], 1)
    data = aj.Block(RHO, 0.05, LAM, loss="logistic").data(dtype=jnp.float64)
    pairs = [
        (st.finetune(problem, 2.0), aj.retrain(2.0, lam=LAM, loss="logistic")),
        (st.simultaneous_da(problem, 2.0), aj.simultaneous_da(2.0, lam=LAM, loss="logistic")),
        (st.gradient_ascent(problem, 2.0), aj.gradient_ascent(2.0, lam=LAM, loss="logistic")),
        (st.iterative_da(problem, 2.0), aj.iterative_da(2.0, lam=LAM, loss="logistic")),
    ]
    for mine, core in pairs:
        a = aj.run_rule(mine, problem.params0, problem, steps=40).final
        b = aj.run_rule(core, problem.params0, data, steps=40).final
        np.testing.assert_allclose(a, b, rtol=1e-10)
    # SCRUB without distillation and max-steps is fine-tuning; noisy GD without noise too
    ft = aj.run_rule(st.finetune(problem, 2.0), problem.params0, problem, steps=40).final
    for rule in (
        st.scrub(problem, 2.0, kl_weight=0.0, max_steps=0),
        st.noisy_gd(problem, 2.0, sigma=0.0),
    ):
        np.testing.assert_allclose(aj.run_rule(rule, problem.params0, problem, steps=40).final, ft)


def test_problem_is_a_pytree_under_jit_and_vmap(blocks):
    setting = blocks["exp"]
    batched = jax.jit(jax.vmap(lambda p: p.retain_objective(p.params0)))(setting.problems)
    n = setting.problems.x.shape[0]
    loop = [
        jax.tree_util.tree_map(lambda a, i=i: a[i], setting.problems).retain_objective(
            setting.problems.params0[i]
        )
        for i in range(n)
    ]
    np.testing.assert_allclose(batched, loop, rtol=1e-12)

    def run(problem, key):
        problem = dataclasses.replace(problem, key=key)
        return aj.run_rule(
            st.noisy_gd(problem, 1.0, sigma=0.1), problem.params0, problem, steps=5
        ).final

    p0, _ = _one(setting, 0)
    keys = jax.random.split(jax.random.key(3), 3)
    out = jax.jit(jax.vmap(run, in_axes=(None, 0)))(p0, keys)
    np.testing.assert_array_equal(out[0], run(p0, keys[0]))  # one key, one result
    assert not np.allclose(out[0], out[1])  # the key is the only randomness


def test_bad_inputs_name_the_argument():
    data = aj.OneCoordinate(0.5, 0.01).data()
    with pytest.raises(ValueError, match="loss"):
        st.linear_problem(data, 0.01, jnp.ones(1), loss="hinge")
    with pytest.raises(ValueError, match="params0"):
        st.linear_problem(data, 0.01, jnp.ones(3))
    with pytest.raises(TypeError, match="data"):
        st.linear_problem("data", 0.01, jnp.ones(1))
    p = st.linear_problem(data, 0.01, jnp.ones(1))
    with pytest.raises(TypeError, match="model"):
        dataclasses.replace(p, model=3)
    with pytest.raises(ValueError, match="forget_weight"):
        dataclasses.replace(p, forget_weight=-p.forget_weight - 1)
    with pytest.raises(ValueError, match="lam"):
        dataclasses.replace(p, lam=-1.0)
    with pytest.raises(TypeError, match="problem"):
        st.finetune(data, 1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        st.npo(p, 0.0)
    with pytest.raises(ValueError, match="beta"):
        st.npo(p, 1.0, beta=-1.0)
    with pytest.raises(ValueError, match="forget"):
        st.toy_problem(jnp.ones(2), forget=5)
    with pytest.raises(ValueError, match="n_forget"):
        st.random_forget_setting(n_train=10, n_forget=10)
    with pytest.raises(ValueError, match="suite"):
        st.run_suite({}, "huge")
    with pytest.raises(ValueError, match="seeds"):
        st.run_suite({}, "quick", seeds=1)
    with pytest.raises(TypeError, match="method 'x'"):
        st.run_suite({"x": 3}, "quick")


# ----------------------------------------------------------------------------- the CLI
# the fixtures' grids and sizes, so the CLI reuses their compiled settings
TINY = st.Suite(
    rhos=(RHO,),
    alphas=ALPHAS,
    lams=(0.1,),
    coordinate_alphas=(0.05, 0.115, 0.3),
    pools=("gaussian_mixture",),
    random_sizes=(40, 4, 20),
    seeds=2,
    random_seeds=4,
    steps=20,
    learning_rates=(1.0,),
)

USER = """
import ascentjax as aj


def slow_finetune(problem, learning_rate):
    return aj.descent_rule(lambda p, prob: prob.retain_objective(p), 0.5 * learning_rate)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--suite", "huge"],
        ["--seeds", "1"],
        ["--learning-rates", "0"],
        ["--method", "missing_file.py:f"],
        ["--method", "ascentjax:nothing_here"],
        ["--baselines", "sgd"],
        ["--steps", "0"],
    ],
)
def test_cli_rejects_bad_flags(argv, capsys):
    from sims import stress

    with pytest.raises(SystemExit) as err:
        stress.main(argv)
    assert err.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_end_to_end_lists_the_users_method(tmp_path, monkeypatch, capsys, rerun_identical):
    from sims import stress

    monkeypatch.setitem(st.SUITES, "quick", TINY)
    user = tmp_path / "mine.py"
    user.write_text(USER)
    out = tmp_path / "out"
    argv = ["--method", f"{user}:slow_finetune", "--baselines", "newton", "--suite", "quick"]
    argv += ["--no-progress"]
    assert stress.main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| slow_finetune |" in printed and "| newton |" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["methods"] == ["newton", "slow_finetune"]
    card = summary["scorecard"]
    assert set(card["slow_finetune"]) == {
        "block-exp",
        "block-logistic",
        "one-coordinate",
        "toy",
        "random-gaussian_mixture",
    }
    assert card["newton"]["block-exp"]["median_R"] < 0.02
    assert card["slow_finetune"]["block-exp"]["median_R"] < 1
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # methods x settings x grid points x seeds (one learning rate)
    per_method = 2 * (3 * 2) + 3 * 2 + 1 * 2 + 1 * 4
    assert len(rows) == 2 * per_method
    assert (out / "heatmaps.png").stat().st_size > 0 and (out / "scorecard.md").is_file()
    rerun_identical(stress.main, argv, out)  # same flags: byte-identical summary.json
