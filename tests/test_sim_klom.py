"""The KLoM study CLI, run in-process with a tiny configuration."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from sims import klom

TINY = [
    "--max-train", "160", "--max-eval", "60", "--n-models", "4", "--epochs", "2",
    "--batch-size", "16", "--datamodel-models", "8", "--lrs", "0.1", "--unlearn-epochs", "2",
    "--mixes", "1", "--descent-steps", "1", "--forget-fractions", "0.05", "--bins", "4",
    "--pca-components", "1", "--no-progress",
]  # fmt: skip


@pytest.mark.slow
def test_tiny_run_writes_every_output(tmp_path, capsys, rerun_identical):
    out = tmp_path / "run"
    assert klom.main([*TINY, "--out", str(out)]) == 0
    for name in ("summary.json", "klom_grid.png", "accuracy_grid.png", "illusion.png", "table.md"):
        assert (out / name).stat().st_size > 0, name
    s = json.loads((out / "summary.json").read_text())
    assert set(s["forget_sets"]) == {"random_8", "pc1_top", "pc1_bottom"}
    e = s["forget_sets"]["random_8"]
    assert len(e["indices"]) == 8 and e["size"] == 8
    for m in ("ga", "gda", "scrub"):
        grid = e["methods"][m]["grid"]
        assert len(grid) == 2  # one lr x two epochs
        for row in grid:
            assert row["diverged"] == 0
            for split in ("forget", "retain", "validation"):
                assert row["klom"][split] >= 0 and 0 <= row["accuracy"][split] <= 1
        il = e["methods"][m]["illusion"]
        assert il["forget_klom_on_selection_seeds"] == min(r["forget_klom_half_a"] for r in grid)
    # the PCA sets are disjoint (top vs bottom of one component)
    top, bottom = (set(s["forget_sets"][k]["indices"]) for k in ("pc1_top", "pc1_bottom"))
    assert not top & bottom
    assert "on held-out seeds" in capsys.readouterr().out
    # refuses to overwrite a non-empty directory
    with pytest.raises(SystemExit) as exc:
        klom.main([*TINY, "--out", str(out)])
    assert exc.value.code == 2
    rerun_identical(klom.main, TINY, out)


def test_a_diverged_configuration_is_counted_and_never_selected(tmp_path):
    """A learning rate of 1e30 makes every GA model non-finite within its first epoch:
    those grid points report N diverged models and no KLoM or accuracy, and the illusion
    analysis selects the sane learning rate (a NaN must not win a minimum)."""
    out = tmp_path / "huge"
    argv = [*TINY, "--datamodel-models", "0", "--methods", "ga", "--lrs", "0.1", "1e30"]
    assert klom.main([*argv, "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    e = s["forget_sets"]["random_8"]
    assert e["pretrained"]["diverged"] == 0 and e["oracle_reference"]["diverged"] == 0
    grid = e["methods"]["ga"]["grid"]
    sane = [r for r in grid if r["lr"] == 0.1]
    huge = [r for r in grid if r["lr"] == 1e30]
    assert len(sane) == len(huge) == 2
    for r in sane:
        assert r["diverged"] == 0 and r["klom"]["forget"] >= 0
    for r in huge:
        assert r["diverged"] == 4  # all N models
        # NaN is written as null: no score at all, never a perfect 0
        assert r["forget_klom_half_a"] is None and r["forget_klom_half_b"] is None
        assert all(r["klom"][k] is None and r["accuracy"][k] is None for k in r["klom"])
    il = e["methods"]["ga"]["illusion"]
    assert il["selected"]["lr"] == 0.1
    assert il["diverged_configurations"] == 2 and il["grid_points"] == 4
    assert il["forget_klom_on_selection_seeds"] == min(r["forget_klom_half_a"] for r in sane)
    table = (out / "table.md").read_text()
    assert "diverged" in table and "2/4" in table


@pytest.mark.parametrize(
    "argv,flag",
    [
        (["--n-models", "2"], "--n-models"),
        (["--lrs", "0"], "--lrs"),
        (["--forget-fractions", "0.9"], "--forget-fractions"),
        (["--data", "cifar10"], "--data-dir"),
        (["--methods", "sgd"], "--methods"),
    ],
)
def test_bad_flags_exit_2(argv, flag, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        klom.main([*argv, "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err


def test_cifar_dir_with_missing_files_exits_2(tmp_path, capsys):
    d = tmp_path / "cifar"
    d.mkdir()
    with open(d / "data_batch_1", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(SystemExit) as exc:
        klom.main(["--data", "cifar10", "--data-dir", str(d), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "data_batch_2" in capsys.readouterr().err


def test_reference_ensemble_that_learned_nothing_stops_with_exit_1(tmp_path, capsys):
    # SGD with momentum at step size 10 kills the networks: finite, constant outputs
    out = tmp_path / "x"
    assert klom.main([*TINY, "--lr", "10", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "pretraining learned nothing" in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: pretraining")
    assert list(tmp_path.iterdir()) == []  # no output at all
