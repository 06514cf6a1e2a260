"""``python -m benchmarks [--quick] [--workload NAME ...] [--out DIR] [--json PATH] [--repeats K]``.

Runs the registered workloads, prints a table per workload and writes JSON:
into ``--out DIR`` if given (one ``<workload>.json``, ``<workload>.md`` and plot
each, ``summary.json`` with every record and ``run.json``, moved into place
complete at the end, like a study's outputs), to ``--json PATH`` if given (all
records in one file, plots beside it), and otherwise, for full (non ``--quick``)
runs, to ``benchmarks/results/<workload>.json``.

JAX gets one CPU device per core (``--devices N`` to choose, or a device count
already in ``XLA_FLAGS``). ``--platform gpu`` (or ``tpu``) runs the accelerator
section (workload ``accelerator``) on that platform; without such a device it
is skipped with a message saying so.
"""

from __future__ import annotations

import textwrap
import time
from importlib import import_module
from pathlib import Path

from sims._common import (
    cli,
    exit_script,
    make_parser,
    open_output,
    open_output_file,
    positive_int,
    run_info,
)
from sims._devices import add_devices_flag, configure_devices, devices_from_argv

from . import load_workloads
from ._harness import RESULTS_DIR, write_json

WIDTH = 119  # printed and .md lines stay below 120 characters


def _parser(workloads: dict):
    parser = make_parser(
        "python -m benchmarks",
        "Run the benchmark workloads (speed of ascentjax against NumPy, bare JAX and, with "
        "the 'bench' extra, PyTorch), print a table per workload and write the records.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny configuration (seconds)")
    parser.add_argument(
        "--workload",
        action="append",
        choices=sorted(workloads),
        metavar="NAME",
        help=f"workload to run (repeatable), one of {', '.join(sorted(workloads))} (default: all)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write all records to this JSON file, plots beside it (default: none)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=None,
        help="timing repeats, >= 1; the best is kept (default: 1 with --quick, else 3)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output directory, refused if non-empty without --overwrite (default: none; "
        "full runs without --out or --json update benchmarks/results/)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing non-empty --out directory (its old files are removed)",
    )
    add_devices_flag(parser)
    parser.add_argument(
        "--platform",
        choices=["cpu", "gpu", "tpu"],
        default=None,
        help="gpu/tpu: run the accelerator section there (default workload: accelerator; "
        "default platform: JAX's own choice)",
    )
    return parser


def _fit(lines: list[str], width: int = WIDTH) -> list[str]:
    """Wrap lines longer than ``width`` characters (continuations indented)."""
    out = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
        else:
            out += textwrap.wrap(line, width, subsequent_indent="    ", break_on_hyphens=False)
    return out


@cli
def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    configure_devices(devices_from_argv(argv))  # before the workloads import JAX
    workloads = load_workloads()
    parser = _parser(workloads)
    args = parser.parse_args(argv)
    if args.overwrite and args.out is None:
        parser.error("argument --overwrite: only with --out")
    json_file = None if args.json is None else open_output_file(parser, args.json, "--json")
    out = None if args.out is None else open_output(parser, args.out, "benchmarks", args.overwrite)
    names = args.workload or (["accelerator"] if args.platform in ("gpu", "tpu") else None)
    names = names or sorted(workloads)
    repeats = args.repeats or (1 if args.quick else 3)
    t0 = time.perf_counter()
    records, timings, figures = {}, {}, []
    for name in names:
        ts = time.perf_counter()
        kwargs = {"platform": args.platform} if name == "accelerator" else {}
        record = workloads[name](quick=args.quick, repeats=repeats, **kwargs)
        timings[name] = time.perf_counter() - ts
        records[name] = record
        module = import_module(workloads[name].__module__)
        lines = _fit(getattr(module, "summary_lines", lambda r: [str(r)])(record))
        for line in lines:
            print(line)
        table = "\n".join(["```text", *lines, "```", ""])
        if out is not None:
            write_json(out.dir / f"{name}.json", record)
            (out.dir / f"{name}.md").write_text(table, encoding="utf-8")
        elif args.json is None and not args.quick:
            path = write_json(RESULTS_DIR / f"{name}.json", record)
            md = RESULTS_DIR / f"{name}.md"
            md.write_text(table, encoding="utf-8")
            print(f"wrote {path} and {md}")
        if hasattr(module, "plot"):
            if out is not None:
                module.plot(record, out.dir / f"{name}.png")
            if json_file is not None:
                figure = json_file.path.with_name(f"{json_file.path.stem}_{name}.png")
                figures.append(open_output_file(parser, figure, "--json"))
                module.plot(record, figures[-1].tmp)
            elif out is None and not args.quick:
                figure = RESULTS_DIR / f"{name}.png"
                module.plot(record, figure)  # a module's plot may skip some of its workloads
                if figure.exists():
                    print(f"wrote {figure}")
    if json_file is not None:
        write_json(json_file.tmp, records)
        print(f"wrote {json_file.commit()}")
        for figure in figures:  # a module's plot may skip some of its workloads
            if figure.tmp.stat().st_size:
                print(f"wrote {figure.commit()}")
            else:
                figure.abort()
    if out is not None:
        wall = time.perf_counter() - t0
        info = run_info(
            "benchmarks",
            argv,
            prog="python -m benchmarks",
            dtype="per workload (see each record)",
            timings_s=timings,
            wall_s=wall,
        )
        print(f"wrote {out.finish(records, info)}")
    return 0


if __name__ == "__main__":
    exit_script(main)
