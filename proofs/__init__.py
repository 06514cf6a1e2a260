"""Executable proofs of the theory of "Ascent Fails to Forget": one module per section.

Each module derives its results symbolically with sympy and checks them
numerically, both against the ascentjax JAX library (``lambdify`` of the
derived expression on a random float64 grid) and against simulation
(gradient-descent endpoints, iterated maps, Monte-Carlo frequencies, root
finders). Statements printed in the paper that the verified computation
contradicts are reported as discrepancies, apart from the failures. Every module
exposes ``check(fast: bool = True) -> CheckResult``.

Run all of them with ``python -m proofs`` (``--fast`` for the small grids,
``--only NAME`` for one module, ``--json PATH`` to save the report). The docs page
*Executable proofs* (``docs/theory/proofs.md``) explains the report.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from ._report import CheckResult, Claim

__all__ = ["MODULES", "CheckResult", "Claim", "run_check", "run_checks"]

#: The registry: module name -> what it proves (with the paper's section).
MODULES: dict[str, str] = {
    "objectives": "objectives and gradients (paper Eq. 1)",
    "one_coordinate": "one correlated coordinate (Sec. 5.1.1, Lemmas 2-5, Cor. 1)",
    "iterative_da": "iterative descent-ascent (App. D.3)",
    "cross_correlation": "cross-dimensional correlation (Sec. 5.1.2, Lemmas 6-10)",
    "random_forget": "random forget sets (Sec. 4, Lemma 1)",
    "toy_model": "nonconvex toy (Sec. 5.2, App. B)",
}


def run_check(name: str, fast: bool = True) -> CheckResult:
    """Run the ``check`` of one registered module."""
    if name not in MODULES:
        raise ValueError(f"unknown proof module {name!r}; choose from {sorted(MODULES)}")
    mod = importlib.import_module(f"proofs.{name}")
    return mod.check(fast=fast)


def run_checks(names: Iterable[str] | None = None, fast: bool = True) -> list[CheckResult]:
    """Run the checks of ``names`` (all registered modules by default), in order."""
    return [run_check(n, fast=fast) for n in (MODULES if names is None else names)]
