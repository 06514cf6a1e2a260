"""The toy-landscape study, run in-process through ``main`` with a tiny configuration."""

import json

import numpy as np
import pytest
from scipy.optimize import minimize

from sims import toy_landscape

X = np.array([-1.0, 1.0, 3.0, 4.0])
Y = np.array([-1.0, 1.0, -1.0, 1.0])
W_RET = np.array([5.0, 4.0, 1.0, 2.0])


def np_loss(th, w, lam=0.1):
    return float(np.sum(w * (np.tanh(th[0] * X + th[1] * X**2) - Y) ** 2) + lam * th @ th)


TINY = [
    "--seeds",
    "100",
    "--resolution",
    "16",
    "--steps",
    "2000",
    "--phase-points",
    "5",
    "--phase-max-ratio",
    "4",
    "--no-progress",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy") / "run"
    assert toy_landscape.main([*TINY, "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_outputs_and_summary(run_dir):
    for name in ("summary.json", "table.md", "landscapes.png", "phase_diagram.png"):
        assert (run_dir / name).stat().st_size > 0
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["config"]["grid"] == [10, 10]
    counts = {k: len(v["minima"]) for k, v in s["objectives"].items()}
    assert counts == {"pretrained": 2, "retain": 2, "gda": 1}
    assert all(v["unconverged_fraction"] == 0 for v in s["objectives"].values())
    # GDA's minimum sits in the pretrained objective's inferior (index 1) basin
    assert s["gda_minima_in_pretrained_basin"] == [1]
    trap = s["trap"]
    assert trap["gda_then_finetune"]["fraction_in_oracle_basin"] == 0.0
    assert trap["gda_from_init_then_finetune"]["fraction_in_oracle_basin"] == 0.0
    assert trap["finetune_pretrained"]["fraction_in_oracle_basin"] > 0.5
    assert 0 < trap["oracle"]["fraction_in_oracle_basin"] < 1


@pytest.mark.slow
def test_canonical_trap_against_scipy(run_dir):
    c = json.loads((run_dir / "summary.json").read_text())["canonical"]
    # The fine-tuned model is a minimum of the retain objective (scipy stays put) with the
    # worse loss; the oracle is scipy's global minimum. float32 run: 1e-3 in coordinates.
    for key, loss in (("finetuned", 8.58), ("oracle", 4.18)):
        r = minimize(np_loss, c[key], args=(W_RET,), method="BFGS", tol=1e-12)
        np.testing.assert_allclose(r.x, c[key], atol=1e-3)
        assert abs(r.fun - loss) < 0.006
    assert c["finetuned_correct"] == [True, True, True, False]


@pytest.mark.slow
def test_phase_diagram(run_dir):
    ph = json.loads((run_dir / "summary.json").read_text())["phase_diagram"]
    fail = np.asarray(ph["failure"])
    assert fail.shape == (5, 5)  # ratios 0, 1, 2, 3, 4 x forget counts 0..4
    assert not fail[0].any()  # no ascent: fine-tuning from the pretrained model recovers
    assert not fail[:, 0].any() and not fail[:, 4].any()
    ex = {(e["ratio"], e["forget"]): e["failure"] for e in ph["examples"]}
    assert ex == {(1.0, 2): True, (2.0, 1): False, (3.0, 1): True}
    assert 0.3 < ph["critical_gda_weight"] < 0.6


@pytest.mark.slow
def test_refuses_non_empty_out(run_dir):
    with pytest.raises(SystemExit) as e:
        toy_landscape.main([*TINY, "--out", str(run_dir)])
    assert e.value.code == 2


def test_rerun_is_identical_and_replaces(run_dir, rerun_identical):
    rerun_identical(toy_landscape.main, TINY, run_dir)


@pytest.mark.parametrize(
    "flags",
    [["--forget", "5"], ["--a-range", "1", "0"], ["--output-map", "relu"], ["--seeds", "0"]],
)
def test_bad_flags_exit_2(tmp_path, flags, capsys):
    with pytest.raises(SystemExit) as e:
        toy_landscape.main([*flags, "--out", str(tmp_path / "x")])
    assert e.value.code == 2
    assert flags[0] in capsys.readouterr().err
