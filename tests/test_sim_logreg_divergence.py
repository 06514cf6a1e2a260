"""The ``python -m sims.logreg_divergence`` study, run in-process with tiny configurations.

References are independent of the code under test: the exact points come from
``scipy.optimize.root`` on the gradients written here in NumPy, so the simulated
endpoints (engine + gradient descent) are checked against scipy, not against
``ascentjax.theory.solve``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import optimize

from sims.logreg_divergence import main

TINY = ["--seeds", "3", "--steps", "400", "--no-progress"]


def _scipy_points(rho, alpha, lam=0.01, n=50.0, nr=900.0, nf=100.0):
    a, c = np.array([1.0, rho]), np.array([rho, 1.0])

    def grad(w, kind):
        x, y = a @ w, c @ w
        if kind == "pretrained":
            g = -(n / (nr + nf)) * (np.exp(-x) * a + alpha * np.exp(-y) * c)
        elif kind == "oracle":
            g = -(n / nr) * np.exp(-x) * a
        else:
            g = -(n / nr) * np.exp(-x) * a + (alpha * n / nf) * np.exp(-y) * c
        return g / lam + w

    pts = {}
    for kind in ("pretrained", "oracle"):
        pts[kind] = optimize.root(grad, np.ones(2), args=(kind,), tol=1e-13).x
    pts["da"] = optimize.root(grad, pts["pretrained"], args=("da",), tol=1e-13).x
    return pts


def _load(path):
    return json.loads(path.read_text())


@pytest.mark.slow
def test_noise_free_simulation_matches_exact_solution(tmp_path, capsys, rerun_identical):
    out = tmp_path / "run"
    assert main(["--rho", "0.8", "--noise", "0", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "wrote" in printed and str(out) in printed and "| DA |" in printed
    s = _load(out / "summary.json")
    for key in ("config", "exact", "thresholds", "simulation"):
        assert key in s
    assert set(s["config"]) >= {
        "rho", "alpha", "lam", "block_size", "n_retain", "n_forget",
        "loss", "method", "seeds", "noise",
    }  # fmt: skip
    ref = _scipy_points(0.8, 0.05)
    ex = s["exact"]
    for key in ("pretrained", "oracle", "da"):
        # scipy hybr solves the 2x2 gradient system to ~1e-12
        np.testing.assert_allclose(ex[key]["weights"], ref[key], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ex["oracle"]["margins"], [1.687, 1.646], atol=5e-4)
    np.testing.assert_allclose(ex["pretrained"]["margins"], [1.652, 1.615], atol=5e-4)
    np.testing.assert_allclose(ex["da"]["margins"], [1.295, 1.204], atol=5e-4)
    assert ex["ordered"] and ex["da_stationary"]
    sim = s["simulation"]
    # Gradient descent with lr 10 contracts by <= 1 - 10 * 0.0089 per step near each
    # point (smallest Hessian eigenvalue ~0.0089): after 400 steps the error is < 1e-15
    # times the start, so the endpoints equal the exact points to solver round-off.
    final = sim["final_mean"]
    for key in ("pretrained", "oracle", "da"):
        np.testing.assert_allclose(final[key], ref[key], rtol=1e-9, atol=1e-10)
    d = sim["dist_to_oracle"]
    assert d["mean"][0] == pytest.approx(np.linalg.norm(ref["pretrained"] - ref["oracle"]))
    assert d["mean"][-1] == pytest.approx(np.linalg.norm(ref["da"] - ref["oracle"]), rel=1e-9)
    assert sim["farther_fraction"] == 1.0
    assert (out / "divergence.png").stat().st_size > 10_000
    assert "| pretrained |" in (out / "table.md").read_text()
    rerun_identical(main, ["--rho", "0.8", "--noise", "0", *TINY], out)


def test_diverged_reference_models_are_flagged_and_exit_1(tmp_path, capsys):
    # lr 1e4 with ridge 0.01: each step multiplies w by |1 - 100|, past the 1e6 box at once
    out = tmp_path / "run"
    assert main(["--lr", "1e4", "--out", str(out), *TINY]) == 1
    sim = _load(out / "summary.json")["simulation"]
    assert sim["pretrain_diverged_count"] == 3 and sim["oracle_diverged_count"] == 3
    table = (out / "table.md").read_text()
    assert "Reference models diverged" in table and "not compared" in table
    captured = capsys.readouterr()
    assert "not compared" in captured.out and "exit status 1" in captured.err


@pytest.mark.slow
def test_no_stationary_point_is_flagged_and_simulation_diverges(tmp_path):
    out = tmp_path / "run"
    argv = ["--rho", "0.8", "--alpha", "0.1", "--noise", "0", "--out", str(out), *TINY]
    assert main(argv) == 0
    s = _load(out / "summary.json")
    assert s["exact"]["da"] is None and s["exact"]["dist_da_oracle"] is None
    assert s["exact"]["da_stationary"] is False and s["exact"]["ordered"] is False
    # independent check: scipy finds no root of grad L_DA from a spread of starts
    lam, n, nr, nf, rho, alpha = 0.01, 50.0, 900.0, 100.0, 0.8, 0.1
    a, c = np.array([1.0, rho]), np.array([rho, 1.0])

    def g(w):
        return (
            -(n / nr) * np.exp(-(a @ w)) * a + (alpha * n / nf) * np.exp(-(c @ w)) * c
        ) / lam + w

    with np.errstate(over="ignore", invalid="ignore"):
        for w0 in [(1.0, 1.0), (1.0, 0.5), (0.5, -0.5), (2.0, 0.0), (0.0, 0.0)]:
            sol = optimize.root(g, np.array(w0), tol=1e-12)
            assert not (np.all(np.isfinite(sol.x)) and np.linalg.norm(g(sol.x)) < 1e-8)
    sim = s["simulation"]
    assert sim["diverged_fraction"] == 1.0 and sim["farther_fraction"] == 1.0
    assert sim["dist_to_oracle"]["mean"][-1] > 100 * sim["dist_to_oracle"]["mean"][0]


@pytest.mark.slow
def test_several_rhos_logistic_iterative_and_overwrite(tmp_path):
    out = tmp_path / "multi"
    argv = ["--rho", "0.5", "0.9", "--loss", "logistic", "--method", "iterative"]
    assert main([*argv, "--out", str(out), *TINY]) == 0
    for rho in ("0.5", "0.9"):
        s = _load(out / f"rho={rho}" / "summary.json")
        assert s["config"]["rho"] == float(rho) and s["config"]["loss"] == "logistic"
        assert s["exact"]["da_stationary"]  # logistic L_DA is bounded below
        assert (out / f"rho={rho}" / "divergence.png").exists()
    assert (out / "divergence.png").exists() and (out / "table.md").exists()
    # an existing non-empty directory is refused without --overwrite
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(out), *TINY])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    "argv,flag",
    [
        (["--rho", "1.0"], "--rho"),
        (["--rho", "-0.1"], "--rho"),
        (["--alpha", "-0.1"], "--alpha"),
        (["--lam", "0"], "--lam"),
        (["--n-retain", "-5"], "--n-retain"),
        (["--n-forget", "-1"], "--n-forget"),
        (["--block-size", "0"], "--block-size"),
        (["--loss", "hinge"], "--loss"),
        (["--n-forget", "1"], "--n-forget"),  # fewer than alpha * block_size
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv, flag, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err
