"""Run a study on JAX's distributed runtime: ``python -m sims.distributed STUDY [flags]``.

Start one such process per host (or per GPU group, or several on one machine):
each joins the job with ``jax.distributed.initialize()``, then runs the study's
own ``main`` with the study's flags, unchanged. Every sweep of the study
(:func:`ascentjax.sweep`) then shards its rows over the devices of all
processes and gathers the result onto each of them, so every process holds the
study's full results.

* The job is found by ``jax.distributed.initialize()``'s auto-detection under
  SLURM (``srun``), on Cloud TPU pod slices and under Open MPI (``mpirun``);
  elsewhere pass ``--coordinator HOST:PORT --num-processes P --process-id I``
  (before the study's name).
* ``--devices N`` (a study flag): CPU devices per process (default: one per core
  the process may use); it has no effect on GPUs and TPUs.
* Process 0 writes the study's outputs to ``--out``; the other processes write to
  a scratch directory that is deleted afterwards, without progress bars.
* Every process must get the same study flags: they run the same program.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import tempfile
from collections.abc import Sequence

from sims._devices import configure_devices, devices_from_argv

STUDIES = (
    "da_atlas",
    "klom",
    "logreg_divergence",
    "one_coordinate",
    "random_forget",
    "toy_landscape",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sims.distributed",
        description="Run a study across processes with jax.distributed (flags after STUDY "
        "go to the study).",
    )
    p.add_argument(
        "--coordinator",
        default=None,
        metavar="HOST:PORT",
        help="address of process 0 (default: auto-detected under SLURM, TPU pods, Open MPI)",
    )
    p.add_argument("--num-processes", type=int, default=None, help="processes in the job")
    p.add_argument("--process-id", type=int, default=None, help="this process's index")
    p.add_argument("study", choices=STUDIES, help="the study to run")
    p.add_argument("study_args", nargs=argparse.REMAINDER, help="the study's own flags")
    return p


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    given = [x is not None for x in (args.coordinator, args.num_processes, args.process_id)]
    if any(given) and not all(given):
        parser.error("--coordinator, --num-processes and --process-id go together")
    if args.num_processes is not None and args.num_processes < 1:
        parser.error(f"argument --num-processes: must be >= 1, got {args.num_processes}")
    if args.process_id is not None and not 0 <= args.process_id < (args.num_processes or 1):
        parser.error(
            f"argument --process-id: must be in [0, {args.num_processes}), got {args.process_id}"
        )


def study_argv(argv: Sequence[str], process_index: int, scratch: str) -> list[str]:
    """The study flags for one process: unchanged on process 0; elsewhere ``--out``
    points at ``scratch`` (with ``--overwrite``) and progress bars are off."""
    argv = list(argv)
    if process_index == 0:
        return argv
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--out":
            skip = True
            continue
        if arg.startswith("--out="):
            continue
        out.append(arg)
    return [*out, "--out", scratch, "--overwrite", "--no-progress"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    configure_devices(devices_from_argv(args.study_args))  # before JAX starts
    import jax

    jax.distributed.initialize(
        coordinator_address=args.coordinator,
        num_processes=args.num_processes,
        process_id=args.process_id,
    )
    study = importlib.import_module(f"sims.{args.study}")
    scratch = tempfile.mkdtemp(prefix=f"{args.study}-p{jax.process_index()}-")
    try:
        return study.main(study_argv(args.study_args, jax.process_index(), scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        jax.distributed.shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
