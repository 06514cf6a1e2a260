"""Executable proofs of THEORY.md: one module per section.

Each module derives its results symbolically with sympy and checks them
numerically, both against the ascentjax JAX library (``lambdify`` of the
derived expression on a random float64 grid) and against simulation
(gradient-descent endpoints, iterated maps, Monte-Carlo frequencies, root
finders). Every module exposes ``check(fast: bool = True) -> CheckResult``.

Run all of them with ``python -m proofs`` (``--fast`` for the small grids,
``--only NAME`` for one module, ``--json PATH`` to save the report).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from ._report import CheckResult, Claim

__all__ = ["MODULES", "CheckResult", "Claim", "run_check", "run_checks"]

#: The registry: module name -> THEORY.md section it proves.
MODULES: dict[str, str] = {
    "objectives": "§1 objectives and gradients",
    "one_coordinate": "§2 one correlated coordinate (Lemmas 2-5, Cor. 1)",
    "iterative_da": "§2.1 iterative descent-ascent",
    "cross_correlation": "§3 cross-dimensional correlation (Lemmas 6-10)",
    "random_forget": "§4 random forget sets (Lemma 1)",
    "toy_model": "§5 nonconvex toy (App. B)",
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
