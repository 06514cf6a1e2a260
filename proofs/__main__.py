"""Run every proof check of THEORY.md and print the report (``python -m proofs``).

One line per claim: ✓ (holds), ✗ (false on the grid, with the counterexample) or
– (skipped: a library module is not available), then the residual and the grid
size. The exit status is 1 if any claim failed, 0 otherwise (``--strict`` also
fails on skipped comparisons).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sims._common import cli, exit_script, make_parser, open_output_file

from . import MODULES, run_check


def _parser() -> argparse.ArgumentParser:
    p = make_parser("python -m proofs", __doc__.splitlines()[0])
    p.add_argument(
        "--only",
        action="append",
        choices=sorted(MODULES),
        metavar="NAME",
        help=f"run only this module (repeatable), one of {', '.join(MODULES)} (default: all)",
    )
    p.add_argument("--fast", action="store_true", help="small grids (what the tests run)")
    p.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write the report as JSON to this file (default: none)",
    )
    p.add_argument("--strict", action="store_true", help="exit non-zero on skipped comparisons too")
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
    claims = [c for r in results for c in r.claims]
    n_fail = sum(c.status == "fail" for c in claims)
    n_skip = sum(c.status == "skip" for c in claims)
    n_pass = sum(c.status == "pass" for c in claims)
    print(
        f"\n{n_pass} passed, {n_fail} failed, {n_skip} skipped "
        f"({len(claims)} claims, {'fast' if args.fast else 'full'} grid, {total:.1f} s)"
    )
    if report is not None:
        payload = {
            "grid": "fast" if args.fast else "full",
            "seconds": total,
            "passed": n_pass,
            "failed": n_fail,
            "skipped": n_skip,
            "modules": [r.as_dict() for r in results],
        }
        with open(report.tmp, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, allow_nan=False)
        print(f"report written to {report.commit()}")
    return 1 if n_fail or (args.strict and n_skip) else 0


if __name__ == "__main__":
    exit_script(main)
