"""The DA atlas study (sims/da_atlas.py), run in-process with a tiny configuration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sims import da_atlas

TINY = ["--n", "12", "--n2d", "8", "--n-bif", "16", "--iters", "400", "--record", "200"]


@pytest.fixture(scope="module")
def atlas_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("atlas")
    assert da_atlas.main([*TINY, "--out", str(out), "--overwrite", "--no-progress", "--x64"]) == 0
    return out


@pytest.mark.slow
def test_outputs_written(atlas_run: Path) -> None:
    for name in (
        "summary.json",
        "table.md",
        "phase_diagrams.png",
        "bifurcation.png",
        "block2d.png",
        "periods.png",
    ):
        assert (atlas_run / name).stat().st_size > 0, name
    summary = json.loads((atlas_run / "summary.json").read_text())
    assert summary["dtype"] == "float64"
    for panel, fractions in summary["fractions"].items():
        assert sum(fractions.values()) == pytest.approx(1.0), panel
    # Gradient steps and the flow cannot create fixed points that are not stationary points.
    for panel in ("simultaneous_eta_fr", "flow_eta_fr", "block2d_simultaneous", "block2d_flow"):
        assert summary["fractions"][panel]["spurious"] == 0.0
    assert summary["fractions"]["iterative_eta_fr"]["spurious"] > 0.1
    assert all(int(p) >= 2 for p in summary["iterative_eta_fr_period_counts"])


@pytest.mark.slow
def test_theory_points_in_summary(atlas_run: Path) -> None:
    """THEORY.md §2.1 points, checked against a plain NumPy iteration of the map."""
    summary = json.loads((atlas_run / "summary.json").read_text())

    def numpy_orbit(eta: float, f: float) -> np.ndarray:
        w, r, lam = 1.0, 0.05, 0.01
        out = []
        for t in range(30_256):
            w1 = w - eta * (-r * np.exp(-w) + lam * w)
            w = w1 - eta * f * np.exp(-w1) - eta * lam * w1
            if t >= 30_000:
                out.append(w)
        return np.array(out)

    rows = {(t["eta"], t["f"]): t for t in summary["theory_points"]}
    for (eta, f), row in rows.items():
        if f <= 0.2:
            assert row["regime"] == "spurious"
            ref = numpy_orbit(eta, f)[-1]
            assert row["orbit_min"] == pytest.approx(ref, abs=1e-9)
    assert rows[(1.0, 0.3)]["regime"] == "periodic" and rows[(1.0, 0.3)]["period"] == 3
    assert rows[(0.1, 0.3)]["regime"] == "chaotic" and rows[(0.1, 0.3)]["lyapunov"] > 0.3


@pytest.mark.slow
def test_boundaries(atlas_run: Path) -> None:
    summary = json.loads((atlas_run / "summary.json").read_text())
    b = summary["boundaries_fr"]
    # f/r where (r - f)/(2λ) = -1/e, with r = 0.05, λ = 0.01
    assert (0.05 - b["fr_case23_2lam"] * 0.05) / 0.02 == pytest.approx(-1 / np.e)
    assert summary["boundary_lam_case23"] == pytest.approx(np.e * 0.05 / 2)


@pytest.mark.slow
def test_refuses_non_empty_out(atlas_run: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        da_atlas.main([*TINY, "--out", str(atlas_run)])
    assert exc.value.code == 2


def test_rerun_is_identical_and_replaces(atlas_run: Path, rerun_identical) -> None:
    rerun_identical(da_atlas.main, [*TINY, "--no-progress", "--x64"], atlas_run)


@pytest.mark.parametrize(
    "flags",
    [
        ["--n", "4"],
        ["--lam", "-1"],
        ["--eta-min", "10", "--eta-max", "1"],
        ["--record", "100"],
        ["--rho", "1.0"],
        ["--iters", "300", "--record", "300"],
    ],
)
def test_bad_flags_exit_2(flags: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        da_atlas.main(flags)
    assert exc.value.code == 2
    assert "--" in capsys.readouterr().err
