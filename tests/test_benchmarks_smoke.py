"""The benchmark harness runs end to end in quick mode (no timing assertions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import load_workloads
from benchmarks.__main__ import main


@pytest.mark.slow
def test_quick_mode_runs_and_writes_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    assert main(["--quick", "--workload", "da_sweep", "--json", str(out)]) == 0
    record = json.loads(out.read_text())["da_sweep"]
    impls = {r["impl"] for r in record["results"]}
    assert impls == {"numpy", "ascentjax", "jax_bare"}
    # implementations were checked to agree before timing
    assert max(record["agreement_rel_err"].values()) <= record["agreement_rtol"]
    for r in record["results"]:
        assert r["warm_s"] > 0
    assert "speed-up" in capsys.readouterr().out


def test_registry_and_bad_flags() -> None:
    assert "da_sweep" in load_workloads()
    with pytest.raises(SystemExit) as exc:
        main(["--workload", "nope"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["--quick", "--repeats", "0"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_quick_issue10_workloads(tmp_path: Path, capsys, monkeypatch) -> None:
    """Every issue-10 workload runs in quick mode, checks agreement, writes JSON + plot."""
    from benchmarks import da_compare

    # CI does not install torch: the comparison must be skipped and reported as such
    monkeypatch.setattr(da_compare, "_torch_available", lambda: False)
    out = tmp_path / "bench.json"
    names = ["da_compare", "scaling", "multidevice", "toy_basin", "atlas", "rho_alpha"]
    argv = ["--quick", "--json", str(out)]
    for name in names:
        argv += ["--workload", name]
    assert main(argv) == 0
    records = json.loads(out.read_text())
    assert set(records) == set(names)

    da = records["da_compare"]
    assert da["torch"] == "not installed"
    impls = {r["impl"] for r in da["results"]}
    assert {"numpy", "jax_loop", "jax_vmap", "jax_blocked", "ascentjax", "default"} <= impls
    assert "default_shared" in {r["impl"] for r in da["shared_data_results"]}
    assert da["targets"]["default_met"] is None  # judged only at full size
    assert "torch" not in impls
    assert {r["impl"] for r in da["shared_data_results"]} >= {"numpy_gemm", "jax_gemm"}
    assert max(da["agreement_rel_err"].values()) <= da["agreement_rtol"]
    assert da["recompiles_on_new_lr"] == 0
    for r in da["results"] + da["shared_data_results"]:
        assert r["warm_s"] > 0 and 0 < r["roofline"]["fraction_of_bound"]
        assert "loadavg_1min" in r
    assert da["peaks"]["peak_gflops"] > 0 and da["peaks"]["copy_gbps"] > 0

    sc = records["scaling"]
    assert [r["S"] for r in sc["vs_S"] if r["chunk_size"] is None] == [1, 8, 64]
    assert all(r["peak_bytes"] is None or r["peak_bytes"] > 0 for r in sc["vs_S"])
    assert (tmp_path / "bench_scaling.png").stat().st_size > 0

    md = records["multidevice"]
    assert [r["devices"] for r in md["cpu_fake_devices"]] == [1, 2]
    # sharding must not change the result (rows are independent)
    assert all(r["max_abs_diff_vs_1_device"] <= 1e-6 for r in md["cpu_fake_devices"])

    assert records["toy_basin"]["agreement_fraction"] >= 0.999
    assert sum(records["atlas"]["regime_counts"].values()) == 4 * 8
    assert records["rho_alpha"]["recompiles_on_new_rho"] == 0
    printed = capsys.readouterr().out
    assert "x numpy" in printed and "recompiles on a new rho grid: 0" in printed
    # a terminal-friendly summary: no line of 120 characters or more, and no full-grid
    # extrapolation from a --quick run's tiny grid
    long = [line for line in printed.splitlines() if len(line) >= 120]
    assert not long, long
    assert "extrapolated" not in printed


def test_accelerator_section_skips_without_one_and_runs_where_told(tmp_path: Path, capsys) -> None:
    import jax

    from benchmarks import accelerator

    if not any(d.platform == "gpu" for d in jax.devices()):
        out = tmp_path / "gpu.json"
        assert main(["--quick", "--platform", "gpu", "--json", str(out)]) == 0
        record = json.loads(out.read_text())["accelerator"]
        assert "no GPU visible to JAX" in record["skipped"]
        assert "skipped: no GPU visible to JAX" in capsys.readouterr().out
    # the section's code path, on the CPU with tiny sizes: checked against NumPy, and the
    # memory per seed is the slope of XLA's accounting between the two sizes
    small = dict(S_list=[32, 64], n=16, d=4, T=20)
    rec = accelerator.run(quick=True, repeats=1, platform="cpu", allow_cpu=True, **small)
    assert rec["rel_err_vs_numpy"] <= rec["rtol"]
    a, b = rec["rows"]
    assert rec["bytes_per_seed"] == (b["xla_bytes"] - a["xla_bytes"]) / 32
    # at least the per-seed inputs: x (16 x 4) + y + weight (16 each) float32, forget bool
    assert rec["bytes_per_seed"] >= 4 * 16 * 4 + 2 * 4 * 16 + 16
