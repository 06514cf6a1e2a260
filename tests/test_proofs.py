"""Every executable proof passes on the full grid; paper discrepancies are reported as such.

Each module under ``proofs/`` derives its part of the theory with sympy and checks the
result against the library (lambdified expression vs the JAX function) and against
simulation. The tests run each module's ``check(fast=False)`` (the grid of
``python -m proofs``, about a minute for all modules on one core), so a crash or a false
claim that only the full grid reaches fails CI. A claim is ``pass``, ``fail`` or
``discrepancy`` (a statement printed in the paper that the computation contradicts); the
expected discrepancies are listed below and must be reported with the printed value, the
computed value and the true statement.
"""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
import pytest
import sympy as sp

import proofs
import proofs.__main__ as cli
from proofs import CheckResult, Claim
from proofs.__main__ import main
from proofs._report import STATUSES, Recorder, discrepancies_markdown, to_html

#: module -> the paper statements its verified computation contradicts
EXPECTED_DISCREPANCIES: dict[str, set[str]] = {
    "objectives": set(),
    "one_coordinate": set(),
    "iterative_da": set(),
    "cross_correlation": set(),
    "random_forget": set(),
    # App. B: "ascent step twice the descent step, forget one copy" leaves the GDA weight at
    # x = 4 above the fold (GD stays in the good basin); "every ratio has a forget count"
    # fails for ratios below (1 - w*)/3 ~ 0.17 (the true region is checked by appB.region).
    "toy_model": {"appB.paper_example_ratio2_forget1", "appB.paper_every_ratio_has_a_count"},
}

#: module -> the results of the paper it must cover (Lemma 2 is the stationarity equation)
REQUIRED_SECTIONS: dict[str, set[str]] = {
    "objectives": {"Eq. 1"},
    "one_coordinate": {"Sec. 5.1.1", "Lemma 3", "Lemma 4", "Lemma 5", "Cor. 1"},
    "iterative_da": {"App. D.3"},
    "cross_correlation": {"Lemma 6", "Lemma 7", "Lemma 8", "Lemma 9", "Lemma 10"},
    "random_forget": {"Lemma 1"},
    "toy_model": {"Sec. 5.2", "App. B"},
}


def test_every_module_has_its_sections() -> None:
    assert set(REQUIRED_SECTIONS) == set(proofs.MODULES) == set(EXPECTED_DISCREPANCIES)


@functools.cache
def _result(module: str) -> proofs.CheckResult:
    return proofs.run_check(module, fast=False)


@pytest.mark.slow
@pytest.mark.parametrize("module", list(proofs.MODULES))
def test_proof_module_full_grid(module: str) -> None:
    """The full grid (what ``python -m proofs`` runs): no claim fails, the expected paper
    discrepancies (and only those) are reported, every promised section is covered."""
    res = _result(module)
    assert res.claims, f"{module} checked nothing"
    assert all(c.status in STATUSES for c in res.claims)
    failed = [c.line() for c in res.failed]
    assert not failed, "claims that do not hold:\n" + "\n".join(failed)
    assert {c.name for c in res.discrepancies} == EXPECTED_DISCREPANCIES[module]
    for c in res.discrepancies:
        assert c.kind == "paper" and c.printed and c.computed and c.truth, c.name
    kinds = {c.kind for c in res.claims}
    assert "symbolic" in kinds, f"{module} derives nothing symbolically"
    sections = {c.section for c in res.claims}
    assert REQUIRED_SECTIONS[module] <= sections, sorted(REQUIRED_SECTIONS[module] - sections)
    if module == "toy_model":
        _check_app_b(res)


def _check_app_b(res: CheckResult) -> None:
    """The two App. B discrepancies rest on a checked region, which the report states."""
    claims = {c.name: c for c in res.claims}
    region = claims["appB.region"]
    assert region.status == "pass" and region.grid_size >= 600
    w_star = float(region.detail.split("w* = ")[1].split(",")[0])
    # the fold weight: the good basin of L_(5, 4, 1, w) exists iff w > w* (about 0.48)
    assert 0.45 < w_star < 0.5
    assert claims["appB.fold_weight"].status == "pass"
    example = claims["appB.paper_example_ratio2_forget1"]
    assert f"r > 3 - w* = {3 - w_star:.2f}" in example.truth
    every = claims["appB.paper_every_ratio_has_a_count"]
    assert f"r > (1 - w*)/3 = {(1 - w_star) / 3:.3f}" in every.truth
    assert "0.02" in every.computed  # the smallest ratio of the full grid has no count


def test_one_coordinate_grid_respects_the_model_and_reaches_every_case() -> None:
    """The random grid has |F_j| = alpha |R_j| <= |F| (what the library requires), and both
    grids reach the three branch cases of w_DA and both sides of Lemma 3's window."""
    from proofs.one_coordinate import _grid

    for n in (400, 20000):
        g = _grid(n)
        R, F, Rj, lam, al = g["R"], g["F"], g["R_j"], g["lambda"], g["alpha"]
        assert np.all(al * Rj <= F * (1 + 1e-12)) and np.all(Rj <= R)
        z = (1 - al * R / F) * Rj / (lam * R)
        cases = np.where(z >= 0, 1, np.where(z >= -np.exp(-1), 2, 3))
        assert set(cases.tolist()) == {1, 2, 3}, n
        lo, hi = F**2 / (R * (2 * F + R)), F / R
        inside = (al >= lo) & (al <= hi)
        assert inside.any() and (~inside).any(), n


def _fake_run_check(status: str):
    def run_check(name: str, fast: bool = True) -> CheckResult:
        extra = {}
        if status == "discrepancy":
            extra = dict(printed="p", computed="c", truth="t")
        claim = Claim(
            name="fake.claim",
            section="§0",
            kind="paper" if status == "discrepancy" else "symbolic",
            status=status,
            residual=0.0,
            grid_size=1,
            tolerance=0.0,
            detail="a stand-in claim",
            counterexample="x=1" if status == "fail" else "",
            **extra,
        )
        return CheckResult(name, (claim,), 0.0)

    return run_check


def test_cli_only_and_json(tmp_path, capsys, monkeypatch) -> None:
    """``--only`` runs one module, ``--json`` writes the report with its discrepancies."""
    calls = []

    def run_check(name: str, fast: bool = True) -> CheckResult:
        calls.append((name, fast))
        claims = tuple(
            c
            for status in ("pass", "discrepancy")
            for c in _fake_run_check(status)(name, fast).claims
        )
        claims = (claims[0], dataclasses.replace(claims[1], name="fake.paper"))
        return CheckResult(name, claims, 0.0)

    monkeypatch.setattr(cli, "run_check", run_check)
    out = tmp_path / "report.json"
    code = main(["--only", "toy_model", "--fast", "--json", str(out)])
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert calls == [("toy_model", True)]
    assert [m["module"] for m in report["modules"]] == ["toy_model"]
    claims = report["modules"][0]["claims"]
    assert [c["status"] for c in claims] == ["pass", "discrepancy"]
    assert {"name", "section", "kind", "status", "residual", "grid_size"} <= set(claims[0])
    assert code == 0 and report["passed"] == 1 and report["failed"] == 0
    assert report["discrepancies"] == [
        {
            "module": "toy_model",
            "name": "fake.paper",
            "section": "§0",
            "printed": "p",
            "computed": "c",
            "truth": "t",
        }
    ]
    assert printed.count("res=") == 2
    section = printed.split("== discrepancies with the paper")[1]
    assert "fake.paper" in section and "paper prints: p" in section and "true:         t" in section
    assert "1 passed, 0 failed, 1 discrepancies with the paper" in printed


@pytest.mark.parametrize("status,code", [("pass", 0), ("fail", 1), ("discrepancy", 0)])
def test_cli_exit_status(status, code, capsys, monkeypatch) -> None:
    """A false claim makes the exit status 1; a discrepancy with the paper does not."""
    monkeypatch.setattr(cli, "run_check", _fake_run_check(status))
    assert main(["--only", "objectives"]) == code
    printed = capsys.readouterr().out
    line = [ln for ln in printed.splitlines() if "fake.claim" in ln][0]
    assert line.strip().startswith({"pass": "✓", "fail": "✗", "discrepancy": "≠"}[status])
    assert ("counterexample: x=1" in printed) == (status == "fail")
    disc = printed.split("== discrepancies with the paper")[1]
    assert ("paper prints: p" in disc) == (status == "discrepancy")


@pytest.mark.parametrize("argv", [["--only", "no_such_module"], ["--strict"]])
def test_cli_bad_flag_exits_2(argv) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_recorder_reports_false_claims_with_witness() -> None:
    """The result machinery cannot turn a false identity or a numeric mismatch into a pass,
    nor a crash into anything but a failure."""
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
    assert rec.numeric("nan", "§0", "grid", float("nan"), 1, 1.0, "d").status == "fail"

    def crashing() -> None:
        raise ZeroDivisionError("boom")

    rec.guarded("crashed", "§0", "library", crashing)
    kw = dict(printed="p", computed="c", truth="t", detail="d")
    assert rec.paper("agrees", "§0", True, **kw).status == "pass"
    assert rec.paper("contradicted", "§0", False, **kw).status == "discrepancy"
    res = rec.result()
    by_name = {c.name: c for c in res.claims}
    assert by_name["crashed"].status == "fail"
    assert "ZeroDivisionError: boom" in by_name["crashed"].counterexample
    assert [c.name for c in res.discrepancies] == ["contradicted"]
    assert "contradicted" in discrepancies_markdown([res])
    assert "<b>paper prints:</b> p" in to_html([res])
    with pytest.raises(ValueError, match="printed, computed and truth"):
        Claim("d", "§0", "paper", "discrepancy", 0.0, 1, 0.0, "d", printed="p")
    with pytest.raises(ValueError, match="status"):
        Claim("s", "§0", "symbolic", "skip", 0.0, 1, 0.0, "d")
