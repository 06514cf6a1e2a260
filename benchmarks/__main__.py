"""``python -m benchmarks [--quick] [--workload NAME ...] [--json PATH] [--repeats K]``.

Runs the registered workloads, prints a table per workload and writes JSON:
to ``--json PATH`` if given (all records in one file), otherwise, for full
(non ``--quick``) runs, to ``benchmarks/results/<workload>.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import load_workloads
from ._harness import RESULTS_DIR, write_json


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    workloads = load_workloads()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny configuration (seconds)")
    parser.add_argument(
        "--workload",
        action="append",
        choices=sorted(workloads),
        help="workload to run (repeatable; default: all)",
    )
    parser.add_argument("--json", type=Path, help="write all records to this JSON file")
    parser.add_argument(
        "--repeats", type=_positive_int, default=None, help="timing repeats (best of)"
    )
    args = parser.parse_args(argv)
    names = args.workload or sorted(workloads)
    repeats = args.repeats or (1 if args.quick else 3)
    records = {}
    for name in names:
        from importlib import import_module

        record = workloads[name](quick=args.quick, repeats=repeats)
        records[name] = record
        module = import_module(workloads[name].__module__)
        lines = getattr(module, "summary_lines", lambda r: [str(r)])(record)
        for line in lines:
            print(line)
        if args.json is None and not args.quick:
            path = write_json(RESULTS_DIR / f"{name}.json", record)
            table = RESULTS_DIR / f"{name}.md"
            table.write_text("\n".join(["```text", *lines, "```", ""]), encoding="utf-8")
            print(f"wrote {path} and {table}")
        if hasattr(module, "plot"):
            if args.json is not None:
                figure = args.json.with_name(f"{args.json.stem}_{name}.png")
            elif not args.quick:
                figure = RESULTS_DIR / f"{name}.png"
            else:
                continue
            module.plot(record, figure)  # a module's plot may skip some of its workloads
            if figure.exists():
                print(f"wrote {figure}")
    if args.json is not None:
        path = write_json(args.json, records)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
