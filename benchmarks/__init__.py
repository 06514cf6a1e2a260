"""Benchmarks for ascentjax: ``python -m benchmarks [--quick] [--workload NAME] [--json PATH]``.

The harness is a registry of *workloads*. A workload is a function
``run(quick: bool, repeats: int) -> dict`` registered with :func:`register`; it
builds its inputs, checks that every implementation agrees numerically with a
reference *before* timing anything, times compilation and warm execution
separately (best of ``repeats``), and returns a JSON-serialisable record. To add
a workload (PyTorch, roofline, scaling, ...), write a module in this package that
decorates its ``run`` with ``@register("name")`` and import it in
:func:`load_workloads`.
"""

from __future__ import annotations

from ._harness import WORKLOADS, register

__all__ = ["WORKLOADS", "load_workloads", "register"]


def load_workloads() -> dict:
    """Import every workload module (each registers itself) and return the registry."""
    from . import accelerator, da_compare, da_sweep, grids, multihost, scaling  # noqa: F401

    return WORKLOADS
