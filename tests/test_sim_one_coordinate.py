"""CLI of ``python -m sims.one_coordinate`` (tiny configurations, in-process).

With ``--noise 0`` every seed is the clean one-coordinate data set, so the simulated
endpoints must be the exact stationary points: checked against ``scipy.special.lambertw``
of the z values computed here from the counts (independent of ascentjax). Gradient
descent with lr 10 contracts by at least 0.76 per step at these points, so 2000 steps
reach round-off; the 1e-9 tolerance is far above that and far below any branch gap.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from sims import one_coordinate

NB, NR, NF, LAM = 5, 100, 10, 0.03
TINY = [
    "--n-block", str(NB), "--n-retain", str(NR), "--n-forget", str(NF), "--lam", str(LAM),
    "--seeds", "2", "--steps", "2000", "--lr", "10", "--no-progress",
]  # fmt: skip


def _z(alpha: float) -> tuple[float, float, float]:
    return (
        (1 + alpha) * NB / (LAM * (NR + NF)),
        NB / (LAM * NR),
        (1 - alpha * NR / NF) * NB / (LAM * NR),
    )


@pytest.mark.slow
def test_noise_free_endpoints_match_theory_and_case3_diverges(
    tmp_path: Path, rerun_identical
) -> None:
    out = tmp_path / "run"
    # case 1, case 2 (boundary at 0.1221), case 3
    rc = one_coordinate.main([*TINY, "--noise", "0", "--alpha", "0.05", "0.11", "0.2",
                              "--out", str(out)])  # fmt: skip
    assert rc == 0
    for name in ("summary.json", "table.md", "endpoints.png"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    rows = {round(r["alpha"], 6): r for r in summary["rows"]}
    assert [rows[a]["case"] for a in (0.05, 0.11, 0.2)] == [1, 2, 3]
    for a in (0.05, 0.11):
        z_d, z_r, z_da = _z(a)
        r = rows[a]
        assert r["pretrained_sim_median"] == pytest.approx(special.lambertw(z_d).real, abs=1e-9)
        assert r["oracle_sim_median"] == pytest.approx(special.lambertw(z_r).real, abs=1e-9)
        assert r["da_sim_median"] == pytest.approx(special.lambertw(z_da).real, abs=1e-9)
        assert r["diverged_fraction"] == 0.0 and r["agrees"]
    w_max = special.lambertw(_z(0.11)[2], -1).real
    assert rows[0.11]["da_max_theory"] == pytest.approx(w_max, rel=1e-10)
    r3 = rows[0.2]
    assert r3["diverged_fraction"] == 1.0 and r3["agrees"]
    assert r3["da_theory"] is None and r3["da_sim_median"] is None  # NaN -> null, no crash
    assert summary["case_boundaries"]["alpha_branch"][0] == pytest.approx(
        NF / NR + LAM * NF / (math.e * NB), rel=1e-12
    )
    table = (out / "table.md").read_text()
    assert "3 of 3" in table and "100%" in table
    rerun_identical(
        one_coordinate.main, [*TINY, "--noise", "0", "--alpha", "0.05", "0.11", "0.2"], out
    )


def test_diverged_pretraining_is_flagged_and_exits_1(tmp_path: Path, capsys) -> None:
    # lr 1e3 on a ridge of 0.03: the ridge alone multiplies w by |1 - 30| per step
    out = tmp_path / "run"
    argv = [*TINY, "--lr", "1000", "--alpha", "0.05", "0.1", "--steps", "50", "--out", str(out)]
    assert one_coordinate.main(argv) == 1
    for row in json.loads((out / "summary.json").read_text())["rows"]:
        assert row["pretrain_diverged_fraction"] == 1.0 and row["oracle_diverged_fraction"] == 1.0
        assert not row["agrees"]
    table = (out / "table.md").read_text()
    assert "Reference models diverged** at 2 of 2" in table and "100% / 100%" in table
    captured = capsys.readouterr()
    assert "Reference models diverged" in captured.out and "exit status 1" in captured.err


@pytest.mark.slow
def test_grid_flags_iterative_and_logistic(tmp_path: Path) -> None:
    rc = one_coordinate.main([*TINY, "--alpha-points", "3", "--method", "iterative",
                              "--out", str(tmp_path / "it")])  # fmt: skip
    assert rc == 0
    s = json.loads((tmp_path / "it" / "summary.json").read_text())
    # iterative DA: theory with ridge 2 lambda; |F|/|R| is added to the grid
    assert s["case_boundaries"]["ridge_used_for_da_theory"] == [2 * LAM]
    assert any(abs(r["alpha"] - NF / NR) < 1e-12 for r in s["rows"])
    rc = one_coordinate.main([*TINY, "--alpha", "0.05", "0.5", "--loss", "logistic",
                              "--noise", "0", "--out", str(tmp_path / "lg")])  # fmt: skip
    assert rc == 0
    s = json.loads((tmp_path / "lg" / "summary.json").read_text())
    for r in s["rows"]:  # logistic L_DA always has its unique minimum: no divergence
        assert r["case"] == 1 and r["diverged_fraction"] == 0.0
        # endpoint solves w (1 + e^w) = z_DA (independent check of the numerical theory)
        w = r["da_sim_median"]
        assert w * (1 + np.exp(w)) == pytest.approx(_z(r["alpha"])[2], rel=1e-8)
        assert r["da_theory"] == pytest.approx(w, abs=1e-9)


@pytest.mark.parametrize(
    "bad",
    [
        ["--lam", "0"],
        ["--alpha", "-1"],
        ["--seeds", "0"],
        ["--loss", "hinge"],
        ["--method", "newton"],
        ["--n-retain", "2"],  # < --n-block
        ["--alpha", "5"],  # alpha |R_j| > |F|
        ["--alpha-max", "0.01", "--alpha-min", "0.02"],
        ["--noise", "nan"],
    ],
)
def test_bad_flags_exit_2(bad: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        one_coordinate.main([*TINY, *bad, "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    flag = bad[0] if bad[0] != "--alpha-min" else "--alpha-max"
    assert flag in capsys.readouterr().err


def test_refuses_non_empty_out_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(SystemExit) as exc:
        one_coordinate.main([*TINY, "--alpha", "0.05", "--out", str(out)])
    assert exc.value.code == 2
    assert (out / "keep.txt").read_text() == "x"
