"""Run every executable proof of the theory and print the report (``python -m proofs``).

One line per claim: ✓ (holds), ✗ (false on the grid, with the counterexample) or
≠ (a statement as printed in the paper that the verified computation contradicts),
then the residual and the grid size. The paper discrepancies are listed again in their
own section, each with the printed value, the computed value and the true statement.
The exit status is 1 if any claim failed and 0 otherwise: a discrepancy with the paper
does not change it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sims._common import cli, exit_script, make_parser, open_output_file

from . import MODULES, run_check
from ._report import DISCREPANCY, FAIL, PASS, summary


def _parser() -> argparse.ArgumentParser:
    p = make_parser("python -m proofs", __doc__.splitlines()[0])
    p.epilog = (
        "Exit status: 1 if a claim failed, 0 otherwise (paper discrepancies do not "
        "count as failures)."
    )
    p.add_argument(
        "--only",
        action="append",
        choices=sorted(MODULES),
        metavar="NAME",
        help=f"run only this module (repeatable), one of {', '.join(MODULES)} (default: all)",
    )
    p.add_argument("--fast", action="store_true", help="small grids (a quick smoke run)")
    p.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write the report as JSON to this file (default: none)",
    )
    return p


@cli
def main(argv: list[str] | None = None) -> int:
    """Run the checks; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    report = None if args.json is None else open_output_file(parser, args.json, "--json")
    names = args.only or list(MODULES)
    t0 = time.perf_counter()
    results = []
    for name in names:
        res = run_check(name, fast=args.fast)
        results.append(res)
        print(f"== {name}: {MODULES[name]}  ({res.seconds:.1f} s)")
        for claim in res.claims:
            print("  " + claim.line())
        sys.stdout.flush()
    total = time.perf_counter() - t0
    n = summary(results)
    disc = [(r.module, c) for r in results for c in r.discrepancies]
    print("\n== discrepancies with the paper (reported, not failures)")
    if not disc:
        print("  none")
    for _, claim in disc:
        print("  " + claim.discrepancy_text())
    grid = "fast" if args.fast else "full"
    print(
        f"\n{n[PASS]} passed, {n[FAIL]} failed, {n[DISCREPANCY]} discrepancies with the paper "
        f"({sum(n.values())} claims, {grid} grid, {total:.1f} s)"
    )
    if report is not None:
        payload = {
            "grid": grid,
            "seconds": total,
            "passed": n[PASS],
            "failed": n[FAIL],
            "discrepancies": [
                {
                    "module": module,
                    "name": c.name,
                    "section": c.section,
                    "printed": c.printed,
                    "computed": c.computed,
                    "truth": c.truth,
                }
                for module, c in disc
            ],
            "modules": [r.as_dict() for r in results],
        }
        with open(report.tmp, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, allow_nan=False)
        print(f"report written to {report.commit()}")
    return 1 if n[FAIL] else 0


if __name__ == "__main__":
    exit_script(main)
