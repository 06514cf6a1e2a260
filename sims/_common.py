"""Shared plumbing for the studies in ``sims/``: validated argparse types,
output directories that are never silently overwritten, atomic file writes and
progress bars.

Conventions every study follows:

* bad flags exit with code 2 and a message naming the flag (argparse's own
  ``error``), never a traceback or a silent NaN;
* results go to ``--out`` (default: a fresh time-stamped directory under
  ``results/<study>/``); an existing non-empty directory is refused unless
  ``--overwrite`` is given;
* every file is written to a temporary name in the same directory and renamed
  into place, so an interrupted run never leaves a half-written file;
* long loops show a ``tqdm`` progress bar on stderr (``--no-progress`` hides it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import math
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


# ----------------------------------------------------------------------------- argparse types
def _number(kind: Callable[[str], Any], text: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def bounded(
    kind: Callable[[str], Any] = float,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> Callable[[str], Any]:
    """An argparse ``type=`` that parses ``kind`` and checks a range.

    argparse reports a failure as ``argument --flag: <message>`` and exits 2.
    """
    lo = "[" if low_inclusive else "("
    hi = "]" if high_inclusive else ")"
    rng = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"

    def parse(text: str) -> Any:
        value = _number(kind, text)
        ok = True
        if low is not None:
            ok &= value >= low if low_inclusive else value > low
        if high is not None:
            ok &= value <= high if high_inclusive else value < high
        if not ok:
            raise argparse.ArgumentTypeError(f"must be in {rng}, got {text}")
        return value

    parse.__name__ = f"{kind.__name__} in {rng}"
    return parse


positive_int = bounded(int, low=1)
nonnegative_int = bounded(int, low=0)
positive_float = bounded(float, low=0.0, low_inclusive=False)
nonnegative_float = bounded(float, low=0.0)
unit_interval_open_right = bounded(float, low=0.0, high=1.0, high_inclusive=False)


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--out``, ``--overwrite`` and ``--no-progress`` to a study's parser."""
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: a new directory under results/<study>/)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="allow writing into an existing non-empty output directory",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def prepare_out_dir(
    parser: argparse.ArgumentParser, out: Path | None, study: str, overwrite: bool
) -> Path:
    """Create and return the output directory, refusing to clobber results.

    With ``out=None`` a new time-stamped directory under ``results/<study>/`` is
    created. An existing non-empty directory is refused (exit code 2) unless
    ``overwrite`` is true.
    """
    if out is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        out = Path("results") / study / stamp
    # Resolve first: 'missing/../' must be judged as the directory it really names.
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        parser.error(f"argument --out: {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        parser.error(f"argument --out: {out} is not empty; pass --overwrite to write into it")
    out.mkdir(parents=True, exist_ok=True)
    return out


# ----------------------------------------------------------------------------- atomic writes
def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temp file + rename)."""
    return _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _jsonable(np.asarray(obj).tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN/inf; null means "not defined"
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` as JSON atomically. Arrays become lists; NaN/inf become null."""
    text = json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n"
    return write_text(path, text)


def save_figure(fig: Any, path: Path, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    fmt = Path(path).suffix.lstrip(".") or "png"
    kwargs.setdefault("dpi", 130)
    kwargs.setdefault("bbox_inches", "tight")
    out = _atomic(path, lambda p: fig.savefig(p, format=fmt, **kwargs))
    plt.close(fig)
    return out


def use_headless_matplotlib() -> None:
    """Select the non-interactive Agg backend (studies run on servers and in CI)."""
    import matplotlib

    from sims._figures import apply_style

    matplotlib.use("Agg")
    apply_style()


# ----------------------------------------------------------------------------- progress
def progress(
    iterable: Iterable[T], *, total: int | None = None, desc: str = "", disable: bool = False
) -> Iterator[T]:
    """A tqdm progress bar on stderr (hidden with ``disable=True``).

    The bar redraws every second, so its clock keeps moving during a long iteration.
    """
    from tqdm import tqdm

    bar = tqdm(iterable, total=total, desc=desc, disable=disable, file=sys.stderr)
    with _ticking(bar, disable):
        yield from bar


@contextlib.contextmanager
def _ticking(bar: Any, disable: bool) -> Iterator[None]:
    """Redraw ``bar`` every second until the block ends (its elapsed time keeps moving)."""
    if disable:
        yield
        return
    done = threading.Event()

    def tick() -> None:
        while not done.wait(1.0):
            bar.refresh()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def progress_bar(*, total: int, desc: str = "", unit: str = "it", disable: bool = False) -> Any:
    """A manual tqdm bar on stderr (``bar.update(n)``; hidden with ``disable=True``).

    The bar redraws every second until it is closed, so its elapsed time keeps moving
    during a long step between two updates.
    """
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=True, disable=disable, file=sys.stderr)
    ticking = _ticking(bar, disable)
    ticking.__enter__()
    close = bar.close

    def close_and_stop() -> None:
        ticking.__exit__(None, None, None)
        close()

    bar.close = close_and_stop
    return bar


@contextlib.contextmanager
def stage(desc: str, *, disable: bool = False) -> Iterator[None]:
    """A progress line for one long step that has no natural counter (a compiled call).

    Shows ``desc`` and the elapsed time, ticking every second on stderr, until the step
    ends; hidden with ``disable=True``.
    """
    if disable:
        yield
        return
    from tqdm import tqdm

    bar = tqdm(total=None, desc=desc, bar_format="{desc}: {elapsed}", file=sys.stderr)
    try:
        with _ticking(bar, disable):
            yield
    finally:
        bar.close()


def markdown_table(headers: list[str], rows: list[list[Any]], floatfmt: str = ".4g") -> str:
    """Render a GitHub-flavoured Markdown table (numbers formatted with ``floatfmt``)."""

    def fmt(v: Any) -> str:
        if v is None:
            return "—"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
