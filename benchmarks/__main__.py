"""``python -m benchmarks [--quick] [--workload NAME ...] [--json PATH] [--repeats K]``.

Runs the registered workloads, prints a table per workload and writes JSON:
to ``--json PATH`` if given (all records in one file), otherwise, for full
(non ``--quick``) runs, to ``benchmarks/results/<workload>.json``.

JAX gets one CPU device per core (``--devices N`` to choose, or a device count
already in ``XLA_FLAGS``). ``--platform gpu`` (or ``tpu``) runs the accelerator
section (workload ``accelerator``) on that platform; without such a device it
is skipped with a message saying so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sims._devices import add_devices_flag, configure_devices, devices_from_argv

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
    configure_devices(devices_from_argv(argv))  # before the workloads import JAX
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
    add_devices_flag(parser)
    parser.add_argument(
        "--platform",
        choices=["cpu", "gpu", "tpu"],
        default=None,
        help="gpu/tpu: run the accelerator section there (default workload: accelerator)",
    )
    args = parser.parse_args(argv)
    names = args.workload or (["accelerator"] if args.platform in ("gpu", "tpu") else None)
    names = names or sorted(workloads)
    repeats = args.repeats or (1 if args.quick else 3)
    records = {}
    for name in names:
        from importlib import import_module

        kwargs = {"platform": args.platform} if name == "accelerator" else {}
        record = workloads[name](quick=args.quick, repeats=repeats, **kwargs)
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
