"""Every executable proof of THEORY.md passes on the fast grid.

Each module under ``proofs/`` derives its section of THEORY.md with sympy and checks
the result against the library (lambdified expression vs the JAX function) and against
simulation. This test runs each module's ``check(fast=True)`` and asserts that every
claim holds. A comparison that could not run because a library module is missing is
reported by ``pytest.skip`` with the reason, never as a pass.

Claims that the evidence shows FALSE are listed in ``KNOWN_FALSE`` (with the reason);
for those the test asserts that the check reports them false *with a counterexample*.
"""

from __future__ import annotations

import functools
import json

import pytest

import proofs
import proofs.__main__ as cli
from proofs import CheckResult, Claim
from proofs.__main__ import main

#: claim name -> why it is false (documented in docs/theory/proofs.md)
KNOWN_FALSE: dict[str, str] = {
    # THEORY.md §3's table prints 0.101 for Lemma 9's alpha_9 at rho = 0.9; the formula
    # gives 0.100452..., which rounds to 0.100 (the other three rows round correctly).
    "numbers.window_table_lemma9": "THEORY.md table: alpha_9(0.9) = 0.10045, printed 0.101",
    # THEORY.md §5 prints the pretrained model's local minimum as (1.82, -0.74); it is
    # (1.8130, -0.7388) (loss 16.58): a = 1.81 (the retrain local minimum is at 1.82).
    "landscape.minimum_pretrained_local": "pretrained local minimum a = 1.813, printed 1.82",
    # App. B example: ascent step twice the descent step and ONE forgotten copy gives GDA
    # weights (5, 4, 1, 1); GD from the pretrained model stays in the good basin (x = 4
    # right). The paper's objective (weight 0 at x = 4) with one copy needs ratio 3.
    "appB.ratio2_forget1_same_failure": "ratio 2 + one copy: GDA ends at (1.20, -0.26)",
    # "for any ratio a forget count exists": with 4 copies at x = 4, a ratio of 0.1 has no
    # forget count k in {1, 2, 3} whose GDA run reaches the inferior basin (k = 4 makes the
    # oracle itself ignore x = 4).
    "appB.every_ratio_has_a_count": "ratio 0.1: no forget count recreates the failure",
}


@functools.cache
def _result(module: str) -> proofs.CheckResult:
    return proofs.run_check(module, fast=True)


@pytest.mark.parametrize("module", list(proofs.MODULES))
def test_proof_module(module: str) -> None:
    res = _result(module)
    assert res.claims, f"{module} checked nothing"
    for claim in res.claims:
        assert claim.status in {"pass", "fail", "skip"}
        if claim.name in KNOWN_FALSE:
            assert claim.status == "fail", f"{claim.name} is documented false but passed"
            assert claim.counterexample, f"{claim.name} is reported false without a witness"
    failed = [c.line() for c in res.failed if c.name not in KNOWN_FALSE]
    assert not failed, "claims that do not hold:\n" + "\n".join(failed)
    if res.skipped:
        pytest.skip(
            f"{len(res.skipped)} comparison(s) in {module} not run: "
            + "; ".join(f"{c.name}: {c.detail}" for c in res.skipped)
        )


def test_symbolic_claims_present_in_every_module() -> None:
    """Each module derives something symbolically (not only numerics)."""
    for module in proofs.MODULES:
        kinds = {c.kind for c in _result(module).claims}
        assert "symbolic" in kinds, module


def _fake_run_check(status: str):
    def run_check(name: str, fast: bool = True) -> CheckResult:
        claim = Claim(
            name="fake.claim",
            section="§0",
            kind="symbolic",
            status=status,
            residual=float("nan") if status == "skip" else 0.0,
            grid_size=1,
            tolerance=0.0,
            detail="a stand-in claim",
            counterexample="x=1" if status == "fail" else "",
        )
        return CheckResult(name, (claim,), 0.0)

    return run_check


def test_cli_only_and_json(tmp_path, capsys, monkeypatch) -> None:
    """``--only`` runs one module, ``--json`` writes the report, one line per claim."""
    monkeypatch.setattr(cli, "run_check", lambda name, fast=True: _result(name))
    out = tmp_path / "report.json"
    code = main(["--only", "random_forget", "--fast", "--json", str(out)])
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert [m["module"] for m in report["modules"]] == ["random_forget"]
    claims = report["modules"][0]["claims"]
    assert len(claims) == len(_result("random_forget").claims)
    assert {"name", "section", "kind", "status", "residual", "grid_size"} <= set(claims[0])
    assert code == (1 if report["failed"] else 0)
    assert printed.count("res=") == len(claims)


@pytest.mark.parametrize(
    "status,strict,code",
    [("pass", False, 0), ("fail", False, 1), ("skip", False, 0), ("skip", True, 1)],
)
def test_cli_exit_status(status, strict, code, capsys, monkeypatch) -> None:
    """A false claim makes the exit status 1; a skip does so only with ``--strict``."""
    monkeypatch.setattr(cli, "run_check", _fake_run_check(status))
    argv = ["--only", "objectives"] + (["--strict"] if strict else [])
    assert main(argv) == code
    printed = capsys.readouterr().out
    line = [ln for ln in printed.splitlines() if "fake.claim" in ln][0]
    assert line.strip().startswith({"pass": "✓", "fail": "✗", "skip": "–"}[status])
    assert ("counterexample: x=1" in printed) == (status == "fail")


def test_cli_bad_flag_exits_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--only", "no_such_module"])
    assert exc.value.code == 2


def test_recorder_reports_false_claims_with_witness() -> None:
    """The result machinery cannot turn a false identity or a numeric mismatch into a pass."""
    import numpy as np
    import sympy as sp

    from proofs._report import Recorder, Unavailable

    x = sp.Symbol("x", positive=True)
    rec = Recorder("unit")
    assert rec.symbolic("true", "§0", sp.log(x**2) - 2 * sp.log(x), "log rule").passed
    bad = rec.symbolic("false", "§0", sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1.5, "not an identity")
    assert bad.status == "fail" and bad.counterexample
    near = rec.close("near", "§0", [1.0, 2.0], [1.0, 2.0 + 1e-15], rtol=1e-12, detail="d")
    assert near.passed
    off = rec.close(
        "off", "§0", [1.0, 2.1], [1.0, 2.0], rtol=1e-3, detail="d", points=[{"i": 0}, {"i": 1}]
    )
    assert off.status == "fail" and "i=1" in off.counterexample
    assert np.isclose(off.residual, 0.05)

    def missing() -> None:
        raise Unavailable("ascentjax._nothing not available")

    def crashing() -> None:
        raise ZeroDivisionError("boom")

    rec.guarded("skipped", "§0", "library", missing)
    rec.guarded("crashed", "§0", "library", crashing)
    status = {c.name: c.status for c in rec.result().claims}
    assert status["skipped"] == "skip" and status["crashed"] == "fail"
