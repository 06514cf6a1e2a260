"""The random-forget study CLI (``python -m sims.random_forget``), run in-process on a tiny grid."""

from __future__ import annotations

import json
import math

import pytest

from sims import random_forget

TINY = [
    "--draws",
    "200",
    "--forget-sizes",
    "5",
    "30",
    "--n-train",
    "60",
    "--n-test",
    "60",
    "--dim",
    "2",
    "--unlearn-draws",
    "8",
    "--lrs",
    "0.1",
    "1.0",
    "--steps",
    "20",
    "--stride",
    "10",
    "--chunk-size",
    "128",
    "--no-progress",
]


@pytest.mark.slow
def test_cli_tiny_run_writes_outputs_and_respects_the_bound(
    tmp_path, capsys, rerun_identical
) -> None:
    out = tmp_path / "run"
    assert random_forget.main([*TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "violation" in printed and str(out) in printed
    for name in ("summary.json", "lemma1.png", "unlearning.png", "table.md"):
        assert (out / name).stat().st_size > 0, name
    s = json.loads((out / "summary.json").read_text())
    # DKW band with Bonferroni over the 4 (data set, |F|) cells at alpha = 0.01
    eps = math.sqrt(math.log(2 * 4 / 0.01) / (2 * 200))
    assert s["dkw_eps"] == pytest.approx(eps, rel=1e-12)
    for name in ("gaussian", "breast_cancer"):
        stats = s["lemma1"][name]
        assert [c["n_forget"] for c in stats] == [5, 30]
        for c in stats:
            assert c["draws"] == 200
            # the verdict is the stated rule, and the tail respects the bound here
            assert c["violation"] == (c["max_excess"] > eps)
            assert not c["violation"]
            # an excess reported at t is (freq - bound) there (float32 run: 1e-6), and the
            # bound is Lemma 1's, recomputed here in float64
            assert c["max_excess"] == pytest.approx(
                c["freq_at_max_excess"] - c["bound_at_max_excess"], abs=1e-6
            )
            t, nf = c["t_at_max_excess"], c["n_forget"]
            want = min(1.0, 2 * math.exp(-2 * t**2 / (1 / nf + 1 / 60)))
            assert c["bound_at_max_excess"] == pytest.approx(want, rel=1e-5)
    assert s["largest_violation"]["beyond_monte_carlo_error"] is False
    rows = s["unlearning"]
    # 2 data sets x 3 methods x 2 step sizes x (20 / 10 + 1) recorded step counts
    assert len(rows) == 2 * 3 * 2 * 3
    for r in rows:
        assert 0 <= r["acc_forget"] <= 1 and 0 <= r["acc_test"] <= 1
        assert r["dist_to_oracle"] >= 0
    # step 0 is the pretrained model for every method and step size
    step0 = [r for r in rows if r["steps"] == 0 and r["data_set"] == "gaussian"]
    assert len({round(r["acc_forget"], 12) for r in step0}) == 1
    table = (out / "table.md").read_text()
    assert "| gaussian |" in table and "GA" in table and "iterative DA" in table
    rerun_identical(random_forget.main, TINY, out)


@pytest.mark.parametrize(
    "flags,needle",
    [
        (["--forget-sizes", "60"], "--forget-sizes"),
        (["--forget-sizes", "0"], "--forget-sizes"),
        (["--forget-sizes", "-2"], "--forget-sizes"),
        (["--unlearn-forget", "100"], "--unlearn-forget"),
        (["--stride", "7"], "--stride"),
        (["--lam", "0"], "--lam"),
        (["--alpha", "1.5"], "--alpha"),
        (["--datasets", "mnist"], "--datasets"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(tmp_path, capsys, flags, needle) -> None:
    with pytest.raises(SystemExit) as exc:
        random_forget.main([*TINY, *flags, "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    assert needle in capsys.readouterr().err


def test_refuses_non_empty_out_dir(tmp_path, capsys) -> None:
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(SystemExit) as exc:
        random_forget.main([*TINY, "--out", str(out)])
    assert exc.value.code == 2
    assert "--overwrite" in capsys.readouterr().err
