"""The benchmark harness runs end to end in quick mode (no timing assertions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import load_workloads
from benchmarks.__main__ import main


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
