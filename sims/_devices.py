"""One JAX CPU device per core, set before JAX starts (no JAX import here).

JAX shows a CPU as **one** device, and a sweep that is split into chunks then
runs on one core. The number of host devices is an XLA flag,
``--xla_force_host_platform_device_count``, read once when JAX initialises its
CPU backend; so every study and benchmark entry point calls
:func:`configure_devices` before it imports JAX:

* ``--devices N`` given: ``N`` CPU devices (replacing a count already in
  ``XLA_FLAGS``);
* otherwise, if ``XLA_FLAGS`` already sets the device count, it is left alone;
* otherwise one device per core available to the process.

On a machine with GPUs or TPUs the flag only affects JAX's CPU backend; sweeps
run on the accelerators. Once JAX has started (e.g. when a test calls a study's
``main`` in-process) the device count can no longer change and
:func:`configure_devices` leaves the environment alone.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from collections.abc import Sequence

FLAG = "--xla_force_host_platform_device_count"
_FLAG_RE = re.compile(re.escape(FLAG) + r"(=\S*)?")


def cpu_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def with_device_count(flags: str | None, count: int) -> str:
    """``flags`` (an ``XLA_FLAGS`` value) with the host device count set to ``count``."""
    rest = _FLAG_RE.sub("", flags or "").split()
    return " ".join([*rest, f"{FLAG}={count}"])


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def add_devices_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--devices N`` (JAX CPU devices; default one per core) to a parser."""
    parser.add_argument(
        "--devices",
        type=_positive_int,
        default=None,
        metavar="N",
        help="JAX CPU devices to shard sweeps over (default: one per core, "
        f"{cpu_cores()} here, unless XLA_FLAGS sets {FLAG})",
    )


def devices_from_argv(argv: Sequence[str] | None) -> int | None:
    """The value of ``--devices N`` / ``--devices=N`` in ``argv``; ``None`` if absent or bad.

    A bad value is left for the parser to reject (exit code 2) later.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    value = None
    for i, arg in enumerate(argv):
        if arg == "--devices" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--devices="):
            value = arg.split("=", 1)[1]
    try:
        return _positive_int(value) if value is not None else None
    except argparse.ArgumentTypeError:
        return None


def configure_devices(devices: int | None = None) -> int | None:
    """Set the JAX CPU device count in ``XLA_FLAGS`` before JAX starts.

    Args:
        devices: the count (``--devices``); ``None``: one per core unless
            ``XLA_FLAGS`` already sets a count.

    Returns:
        The device count JAX will see on CPU, or ``None`` where it is out of
        this function's hands (JAX already imported).
    """
    if "jax" in sys.modules:
        match = _FLAG_RE.search(os.environ.get("XLA_FLAGS", ""))
        if match and match.group(1) == f"={devices}":
            return devices  # set before JAX started (e.g. by a launcher)
        if devices is not None:
            warnings.warn(
                f"--devices {devices} ignored: JAX has already started in this process",
                RuntimeWarning,
                stacklevel=2,
            )
        return None
    flags = os.environ.get("XLA_FLAGS", "")
    if devices is None:
        match = _FLAG_RE.search(flags)
        if match:
            try:
                return int((match.group(1) or "=1")[1:])
            except ValueError:
                return None
        devices = cpu_cores()
    os.environ["XLA_FLAGS"] = with_device_count(flags, devices)
    return devices
