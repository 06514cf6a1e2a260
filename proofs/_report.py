"""Result types and helpers shared by the proof modules.

A *claim* is one statement of the theory checked in one way:

* ``symbolic``: an identity that sympy simplifies to zero, or a set it solves
  for that equals the stated one (residual 0 means exact);
* ``library``: the sympy expression, ``lambdify``-ed to NumPy, against the
  ascentjax JAX function on a random float64 grid (residual = max relative error);
* ``simulation``: against gradient-descent endpoints, iterated maps, Monte-Carlo
  frequencies or a numerical root finder (residual = the worst violation or
  discrepancy, tolerance stated in ``detail``);
* ``grid``: a bound that is only proved on paper, checked on a dense grid
  (residual = the worst violation; the detail says it is a grid check).

A claim has one of three statuses:

* ``pass``: the statement holds;
* ``fail``: a statement of the toolkit's own (a derivation, an identity, a
  library-vs-reference comparison, a simulated check of a proved statement) is false
  on the grid, or the check crashed; the ``counterexample`` field holds the witness.
  A failure makes ``python -m proofs`` exit 1;
* ``discrepancy``: a statement *as printed in the paper* that the toolkit's verified
  computation contradicts. It carries the printed value, the computed value and the
  true statement (which is itself checked by a pass/fail claim) and does not change
  the exit status.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import sympy as sp

__all__ = [
    "DISCREPANCY",
    "FAIL",
    "PASS",
    "STATUSES",
    "CheckResult",
    "Claim",
    "Recorder",
    "discrepancies_markdown",
    "enable_x64",
    "summary",
    "sym_zero",
    "to_html",
]

PASS, FAIL, DISCREPANCY = "pass", "fail", "discrepancy"
STATUSES = (PASS, FAIL, DISCREPANCY)
SYMBOL = {PASS: "✓", FAIL: "✗", DISCREPANCY: "≠"}


@dataclasses.dataclass(frozen=True)
class Claim:
    """One checked statement.

    Attributes:
        name: short unique identifier (``section.what.kind``).
        section: the section of the theory (e.g. ``"Sec. 5.1.1"``, ``"Lemma 3"``, ``"App. B"``).
        kind: ``symbolic``, ``library``, ``simulation``, ``grid`` or ``paper``.
        status: ``pass``, ``fail`` or ``discrepancy`` (only for kind ``paper``).
        residual: the worst residual / error / violation (0 for an exact identity).
        grid_size: number of points checked (1 for a symbolic identity).
        tolerance: the tolerance the residual was compared with.
        detail: one line saying what was compared and why the tolerance.
        latex: LaTeX of the derived expression (for the docs), or ``""``.
        counterexample: for a failed claim, the point where it fails.
        printed: for a paper statement, what the paper prints.
        computed: for a paper statement, what the toolkit computes.
        truth: for a paper statement, the true statement (checked by its own claim).
    """

    name: str
    section: str
    kind: str
    status: str
    residual: float
    grid_size: int
    tolerance: float
    detail: str
    latex: str = ""
    counterexample: str = ""
    printed: str = ""
    computed: str = ""
    truth: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.status == DISCREPANCY and not (self.printed and self.computed and self.truth):
            raise ValueError(f"discrepancy {self.name!r} needs printed, computed and truth")

    @property
    def passed(self) -> bool:
        """True when the claim was checked and holds."""
        return self.status == PASS

    def line(self) -> str:
        """A one-line rendering for the terminal report."""
        res = "—" if math.isnan(self.residual) else f"{self.residual:.2e}"
        out = (
            f"{SYMBOL[self.status]} {self.name:<44} {self.section:<10} {self.kind:<10} "
            f"res={res:<9} grid={self.grid_size:<7d} {self.detail}"
        )
        if self.counterexample:
            out += f"\n      counterexample: {self.counterexample}"
        return out

    def discrepancy_text(self) -> str:
        """The three lines of a paper discrepancy: printed, computed, true statement."""
        return (
            f"≠ {self.name} ({self.section})\n"
            f"      paper prints: {self.printed}\n"
            f"      computed:     {self.computed}\n"
            f"      true:         {self.truth}"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes ``None``, infinities the strings ``"inf"``)."""
        d = dataclasses.asdict(self)
        for k in ("residual", "tolerance"):
            v = d[k]
            if math.isnan(v):
                d[k] = None
            elif math.isinf(v):
                d[k] = "inf" if v > 0 else "-inf"
        d["passed"] = self.passed
        return d


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """All claims of one proof module."""

    module: str
    claims: tuple[Claim, ...]
    seconds: float

    @property
    def failed(self) -> tuple[Claim, ...]:
        return tuple(c for c in self.claims if c.status == FAIL)

    @property
    def discrepancies(self) -> tuple[Claim, ...]:
        return tuple(c for c in self.claims if c.status == DISCREPANCY)

    def as_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "seconds": self.seconds,
            "claims": [c.as_dict() for c in self.claims],
        }


def enable_x64() -> None:
    """Proof checks compare in float64 (the library follows the input dtype)."""
    import jax

    jax.config.update("jax_enable_x64", True)


def sym_zero(expr: sp.Expr) -> tuple[bool, sp.Expr]:
    """Simplify ``expr``; return (is it identically zero, the simplified form)."""
    e = sp.expand(expr)
    if e == 0:
        return True, e
    e = sp.simplify(e)
    if e != 0:
        e = sp.simplify(sp.expand_log(sp.powsimp(sp.expand(e), force=True), force=True))
    return e == 0, e


def _fmt(x: Any) -> str:
    if isinstance(x, float | np.floating):
        return f"{float(x):.6g}"
    return str(x)


def fmt_point(**kw: Any) -> str:
    """``name=value`` pairs for a counterexample."""
    return ", ".join(f"{k}={_fmt(v)}" for k, v in kw.items())


class Recorder:
    """Collects the claims of one module, converting exceptions into statuses."""

    def __init__(self, module: str):
        self.module = module
        self.claims: list[Claim] = []
        self._t0 = time.perf_counter()

    def add(self, claim: Claim) -> Claim:
        self.claims.append(claim)
        return claim

    def symbolic(
        self,
        name: str,
        section: str,
        expr: sp.Expr | list[sp.Expr],
        detail: str,
        latex: str = "",
    ) -> Claim:
        """Claim that ``expr`` (or every entry of a list of expressions) simplifies to zero."""
        ok, simplified = True, sp.Integer(0)
        for e in expr if isinstance(expr, list | tuple) else [expr]:
            ok, simplified = sym_zero(e)
            if not ok:
                break
        return self.add(
            Claim(
                name,
                section,
                "symbolic",
                PASS if ok else FAIL,
                0.0 if ok else float("inf"),
                1,
                0.0,
                detail,
                latex,
                "" if ok else f"residual simplifies to {simplified}",
            )
        )

    def equal(
        self, name: str, section: str, got: Any, want: Any, detail: str, latex: str = ""
    ) -> Claim:
        """Claim that a derived object (a set, a list of solutions) equals the stated one."""
        ok = got == want
        return self.add(
            Claim(
                name,
                section,
                "symbolic",
                PASS if ok else FAIL,
                0.0 if ok else float("inf"),
                1,
                0.0,
                detail,
                latex,
                "" if ok else f"derived {got}, stated {want}",
            )
        )

    def numeric(
        self,
        name: str,
        section: str,
        kind: str,
        residual: float,
        grid_size: int,
        tolerance: float,
        detail: str,
        counterexample: str = "",
        latex: str = "",
    ) -> Claim:
        """Claim that a residual (error or violation) is at most ``tolerance``."""
        residual = float(residual)
        ok = bool(np.isfinite(residual) and residual <= tolerance)
        return self.add(
            Claim(
                name,
                section,
                kind,
                PASS if ok else FAIL,
                residual,
                int(grid_size),
                float(tolerance),
                detail,
                latex,
                "" if ok else counterexample,
            )
        )

    def close(
        self,
        name: str,
        section: str,
        got: Any,
        want: Any,
        *,
        rtol: float,
        atol: float = 0.0,
        detail: str,
        kind: str = "library",
        points: Iterable[dict[str, Any]] | None = None,
    ) -> Claim:
        """Claim ``|got - want| <= atol + rtol |want|`` elementwise; residual = worst ratio.

        The residual is the worst ``|got - want| / max(|want|, atol / rtol)``; the claim
        passes when it is at most ``rtol``.
        """
        got = np.asarray(got, dtype=float)
        want = np.asarray(want, dtype=float)
        got, want = np.broadcast_arrays(got, want)
        floor = atol / rtol if rtol > 0 else 1.0
        rel = np.abs(got - want) / np.maximum(np.abs(want), floor)
        rel = np.where(np.isnan(got) & np.isnan(want), 0.0, rel)
        rel = np.where(np.isnan(rel), np.inf, rel)
        worst = int(np.argmax(rel)) if rel.size else 0
        residual = float(rel.flat[worst]) if rel.size else 0.0
        ok = residual <= rtol
        cex = ""
        if not ok:
            where = ""
            if points is not None:
                pts = list(points)
                if worst < len(pts):
                    where = fmt_point(**pts[worst]) + ": "
            cex = f"{where}got {got.flat[worst]!r}, want {want.flat[worst]!r}"
        return self.add(
            Claim(
                name,
                section,
                kind,
                PASS if ok else FAIL,
                residual,
                int(got.size),
                float(rtol),
                detail,
                "",
                cex,
            )
        )

    def paper(
        self,
        name: str,
        section: str,
        holds: bool,
        *,
        printed: str,
        computed: str,
        truth: str,
        detail: str,
        residual: float = 0.0,
        grid_size: int = 1,
    ) -> Claim:
        """A statement as printed in the paper: ``pass`` if the verified computation agrees,
        ``discrepancy`` (never ``fail``) if it contradicts it.

        ``truth`` states what holds instead; it must be checked by a pass/fail claim of its
        own, so that a discrepancy never hides a wrong computation.
        """
        ok = bool(holds)
        return self.add(
            Claim(
                name,
                section,
                "paper",
                PASS if ok else DISCREPANCY,
                float(residual),
                int(grid_size),
                0.0,
                detail,
                printed=printed,
                computed=computed,
                truth=truth,
            )
        )

    def guarded(self, name: str, section: str, kind: str, fn: Callable[[], None]) -> None:
        """Run ``fn`` (which adds claims); an exception becomes a failed claim ``name``."""
        try:
            fn()
        except Exception as exc:  # a library function that crashes is a failed comparison
            self.add(
                Claim(
                    name,
                    section,
                    kind,
                    FAIL,
                    float("inf"),
                    0,
                    float("nan"),
                    f"error while checking: {type(exc).__name__}",
                    "",
                    f"{type(exc).__name__}: {exc}"[:500],
                )
            )

    def result(self) -> CheckResult:
        names = [c.name for c in self.claims]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise RuntimeError(f"duplicate claim names in {self.module}: {sorted(dup)}")
        return CheckResult(self.module, tuple(self.claims), time.perf_counter() - self._t0)


def to_html(results: Iterable[CheckResult]) -> str:
    """An HTML table of every claim (for the docs): module, claim, section, kind, status,
    residual, grid size; failed claims carry their counterexample, discrepancies the
    printed and the computed value."""
    import html

    rows = [
        "<table class='proofs-report'><thead><tr><th>module</th><th>claim</th>"
        "<th>section</th><th>kind</th><th></th><th>residual</th><th>grid</th>"
        "<th>what is compared</th></tr></thead><tbody>"
    ]
    for res in results:
        for c in res.claims:
            r = "—" if math.isnan(c.residual) else f"{c.residual:.1e}"
            what = html.escape(c.detail)
            if c.counterexample:
                what += f"<br/><b>counterexample:</b> {html.escape(c.counterexample)}"
            if c.status == DISCREPANCY:
                what += (
                    f"<br/><b>paper prints:</b> {html.escape(c.printed)}"
                    f"<br/><b>computed:</b> {html.escape(c.computed)}"
                )
            rows.append(
                f"<tr><td>{res.module}</td><td><code>{html.escape(c.name)}</code></td>"
                f"<td>{html.escape(c.section)}</td><td>{c.kind}</td>"
                f"<td>{SYMBOL[c.status]}</td><td>{r}</td><td>{c.grid_size}</td>"
                f"<td>{what}</td></tr>"
            )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def discrepancies_markdown(results: Iterable[CheckResult]) -> str:
    """A Markdown list of the paper discrepancies (printed, computed, true statement)."""
    items = []
    for res in results:
        for c in res.discrepancies:
            items.append(
                f"- **{res.module} / `{c.name}`** ({c.section})\n"
                f"  - *paper prints:* {c.printed}\n"
                f"  - *computed:* {c.computed}\n"
                f"  - *true statement:* {c.truth}"
            )
    return "\n".join(items) if items else "No statement of the paper is contradicted."


def summary(results: Iterable[CheckResult]) -> dict[str, int]:
    """Counts of each status over all claims."""
    claims = [c for r in results for c in r.claims]
    return {s: sum(c.status == s for c in claims) for s in STATUSES}
