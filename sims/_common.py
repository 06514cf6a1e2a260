"""Shared plumbing for the studies in ``sims/``: validated argparse types,
output directories that are complete or absent, provenance, atomic file writes
and progress bars.

Conventions every study follows:

* bad flags exit with code 2 and a one-line message naming the flag (argparse's
  own ``error``), never a traceback or a silent NaN: ranges, values that the run's
  float dtype cannot represent, configurations that would not fit in memory and
  unusable ``--out`` paths are all refused before any work starts;
* ``--help`` shows every flag with its range and default;
* results go to ``--out`` (default: a fresh time-stamped directory under
  ``results/<study>/``); an existing non-empty directory is refused unless
  ``--overwrite`` is given, which replaces it wholly;
* everything is written into a fresh hidden directory beside ``--out`` and moved
  into place at the end, ``summary.json`` last, so an interrupted or killed run
  never leaves a directory that looks finished; files follow the umask;
* ``summary.json`` holds only what the seed determines (byte-identical across runs
  with the same flags); timings, versions, devices and the command line go to
  ``run.json``;
* Ctrl-C prints ``interrupted`` and exits with status 130;
* long loops show a ``tqdm`` progress bar on stderr (``--no-progress`` hides it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import functools
import json
import math
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

INT_MAX = 2**31 - 1  # counts index arrays; JAX's default index type is int32
SEED_MAX = 2**32 - 1  # a PRNG seed is one uint32 word without x64
EXIT_INTERRUPTED = 130  # the shell's status for a process ended by SIGINT
EXIT_DIVERGED = 1  # a reference model diverged: the study's comparisons are void


# ----------------------------------------------------------------------------- argparse types
def _number(kind: Callable[[str], Any], text: str) -> Any:
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        what = {"int": "an integer", "float": "a number"}.get(kind.__name__, kind.__name__)
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    if value == 0 and any(c in "123456789" for c in text.lower().split("e")[0]):
        raise argparse.ArgumentTypeError(f"{text} is too small to represent (it reads as 0)")
    return value


def _fmt_bound(v: float) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


def bounded(
    kind: Callable[[str], Any] = float,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> Callable[[str], Any]:
    """An argparse ``type=`` that parses ``kind`` and checks a range.

    Integers are capped at ``INT_MAX`` unless ``high`` says otherwise. argparse reports
    a failure as ``argument --flag: <message>`` and exits 2. The range is kept on the
    returned function (``.low``, ``.high``, ``.range``) for the help text and for
    :func:`check_representable`.
    """
    if kind is int and high is None:
        high = INT_MAX
    lo = "[" if low_inclusive else "("
    hi = "]" if high_inclusive else ")"
    lo_s = "-inf" if low is None else _fmt_bound(low)
    hi_s = "inf" if high is None else _fmt_bound(high)
    rng = f"{lo}{lo_s}, {hi_s}{hi}"

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
    parse.kind = kind  # type: ignore[attr-defined]
    parse.low, parse.high = low, high  # type: ignore[attr-defined]
    parse.range = rng  # type: ignore[attr-defined]
    return parse


positive_int = bounded(int, low=1)
nonnegative_int = bounded(int, low=0)
positive_float = bounded(float, low=0.0, low_inclusive=False)
nonnegative_float = bounded(float, low=0.0)
unit_interval_open_right = bounded(float, low=0.0, high=1.0, high_inclusive=False)
seed_int = bounded(int, low=0, high=SEED_MAX)


class HelpFormatter(argparse.HelpFormatter):
    """``--help`` lists every flag with its default, written as a user would type it.

    Like argparse's ``ArgumentDefaultsHelpFormatter``, but lists print as ``a b c``,
    switches as ``off``, and a help text that already states its default (a default
    computed at run time, given as ``None``) is left alone.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is argparse.SUPPRESS or "(default" in text or not action.option_strings:
            return text
        d = action.default
        if isinstance(action, argparse._StoreTrueAction):
            shown = "off"
        elif d is None:
            return text
        elif isinstance(d, (list, tuple)):
            shown = " ".join(str(v) for v in d)
        else:
            shown = str(d)
        return f"{text} (default: {shown.replace('%', '%%')})"


def make_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the studies' :class:`HelpFormatter`."""
    return argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=HelpFormatter
    )


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--out``, ``--overwrite`` and ``--no-progress`` to a study's parser."""
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output directory (default: a new time-stamped directory under results/<study>/)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing non-empty --out directory (its old files are removed)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def seed_flag() -> tuple:
    """``--seed`` (the PRNG seed, one uint32 word), for :func:`add_flags`."""
    return ("--seed", seed_int, 0, f"PRNG seed, in [0, {SEED_MAX}]")


def lam_flag(high: float, default: Any = 0.01, help: str | None = None, **kwargs: Any) -> tuple:
    """``--lam``, the ridge strength in ``(0, high]``, for :func:`add_flags`."""
    kind = bounded(float, low=0.0, high=high, low_inclusive=False)
    return ("--lam", kind, default, help or f"ridge strength lambda, in (0, {high:g}]", kwargs)


def lr_flag(high: float, help: str) -> tuple:
    """``--lr``, the step size in ``(0, high]`` (default 10), for :func:`add_flags`."""
    return ("--lr", bounded(float, low=0.0, high=high, low_inclusive=False), 10.0, help)


def loss_flag(default: str = "exp", help: str = "margin loss of every stage") -> tuple:
    """``--loss`` (``exp`` or ``logistic``), for :func:`add_flags`."""
    choices = ("exp", "logistic") if default == "exp" else ("logistic", "exp")
    return ("--loss", None, default, help, {"choices": choices})


def noise_flag(high: float, default: float, help: str) -> tuple:
    """``--noise``, a standard deviation in ``[0, high]``, for :func:`add_flags`."""
    return ("--noise", bounded(float, low=0.0, high=high), default, help)


def da_method_flag(help: str) -> tuple:
    """``--method`` (``simultaneous`` or ``iterative`` descent-ascent), for :func:`add_flags`."""
    choices = ("simultaneous", "iterative")
    return ("--method", None, "simultaneous", help, {"choices": choices})


def add_flags(parser: argparse.ArgumentParser, flags: Iterable[tuple]) -> None:
    """Add flags given as ``(flag, type, default, help)`` or
    ``(flag, type, default, help, {more argparse keywords})``, in order."""
    for flag, kind, default, text, *more in flags:
        kwargs = more[0] if more else {}
        parser.add_argument(flag, type=kind, default=default, help=text, **kwargs)


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Add the flags every study ends with: ``--out``, ``--overwrite``, ``--no-progress``
    and ``--devices``."""
    from sims._devices import add_devices_flag

    add_output_flags(parser)
    add_devices_flag(parser)


def parse_flags(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    validate: Callable[[argparse.ArgumentParser, argparse.Namespace], None] | None = None,
) -> argparse.Namespace:
    """Parse a study's flags, set up its JAX CPU devices (``--devices``, before JAX
    starts) and run ``validate(parser, args)``, which exits 2 on a bad combination."""
    from sims._devices import configure_devices

    args = parser.parse_args(argv)
    configure_devices(args.devices)  # before JAX starts: one CPU device per core
    if validate is not None:
        validate(parser, args)
    return args


def dtype_name(x64: bool) -> str:
    """``"float64"`` with ``--x64``, else ``"float32"``."""
    return "float64" if x64 else "float32"


# ----------------------------------------------------------------------------- checks
def check_representable(
    parser: argparse.ArgumentParser, args: argparse.Namespace, dtype: Any
) -> None:
    """Refuse float flags whose value the run's dtype cannot hold (exit 2).

    A magnitude above the dtype's largest finite value would be ``inf``; a nonzero one
    below its smallest normal number would flush to 0 (or lose its precision).
    """
    import numpy as np

    fi = np.finfo(np.dtype(dtype))
    for action in parser._actions:
        if getattr(action.type, "kind", None) is not float:
            continue
        value = getattr(args, action.dest, None)
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is None:
                continue
            if abs(v) > fi.max:
                parser.error(
                    f"argument {action.option_strings[-1]}: {v:g} is not representable in "
                    f"{fi.dtype} (largest {float(fi.max):.3g})"
                )
            if 0 < abs(v) < fi.tiny:
                parser.error(
                    f"argument {action.option_strings[-1]}: {v:g} is below the smallest "
                    f"{fi.dtype} normal number ({float(fi.tiny):.3g})"
                )


def available_memory() -> int:
    """Bytes of memory available to this process (``MemAvailable``, else physical)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 1 << 62


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} EB"  # pragma: no cover


def check_memory(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    need: float,
    flags: list[str] | dict[str, float],
    available: int | None = None,
) -> None:
    """Refuse a configuration whose estimated memory ``need`` (bytes) exceeds what is
    available (exit 2), before any work.

    The message names a flag of ``flags``, the counts the estimate grows with: the one
    furthest above its default, or, when ``flags`` maps each flag to its share of the
    estimate, the one with the largest share; it gives the estimate and the memory
    available.
    """
    avail = available_memory() if available is None else available
    if need <= avail:
        return

    def growth(flag: str) -> float:
        if isinstance(flags, dict):
            return flags[flag]
        dest = flag.lstrip("-").replace("-", "_")
        value, default = getattr(args, dest), parser.get_default(dest)
        if isinstance(value, (list, tuple)):
            value, default = len(value), len(default or [1])
        return float(value) / float(default or 1)

    flag = max(flags, key=growth)
    parser.error(
        f"argument {flag}: this configuration needs about {_bytes(need)} of memory, "
        f"more than the {_bytes(avail)} available; lower {flag}"
    )


# ----------------------------------------------------------------------------- output directory
def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_active: list[Output | OutputFile] = []


class Output:
    """A study's output: files go to :attr:`dir`, a fresh hidden directory beside the
    final one, which :meth:`finish` moves into place (``summary.json`` written last).

    If the study's ``main`` (wrapped by :func:`cli`) or a ``with`` block ends in any
    exception (a failed run, Ctrl-C, a late argparse error) before :meth:`finish`, the
    temporary directory is removed, and the parents created for it, so nothing
    half-written is left; the final directory is touched only by :meth:`finish`.
    """

    def __init__(self, final: Path, tmp: Path, created: list[Path], overwrite: bool) -> None:
        self.final, self.dir, self._created, self._overwrite = final, tmp, created, overwrite
        self.done = False
        _active.append(self)  # cli() aborts it if main ends without finishing it

    def __truediv__(self, name: str) -> Path:
        return self.dir / name

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.done:
            self.abort()

    def abort(self) -> None:
        """Remove the temporary directory and any parent directory created for it."""
        shutil.rmtree(self.dir, ignore_errors=True)
        for d in self._created:  # deepest first
            try:
                d.rmdir()
            except OSError:
                break
        self.done = True

    def finish(self, summary: Any, run_info: dict[str, Any] | None = None) -> Path:
        """Write ``run.json`` and then ``summary.json``, and move the directory into place.

        An existing ``--out`` (empty, or non-empty with ``--overwrite``) is replaced as a
        whole: no file of an earlier run survives beside the new ones.
        """
        check_interrupt()
        if run_info is not None:
            write_json(self.dir / "run.json", run_info)
        write_json(self.dir / "summary.json", summary)
        old = None
        if self.final.is_dir():
            if any(self.final.iterdir()):
                if not self._overwrite:  # appeared while we ran
                    raise FileExistsError(
                        f"{self.final} is no longer empty; results left in {self.dir}"
                    )
                old = Path(
                    tempfile.mkdtemp(prefix=f".{self.final.name}.old-", dir=self.final.parent)
                )
                os.replace(self.final, old / "x")
            else:
                self.final.rmdir()
        os.replace(self.dir, self.final)
        self.done = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.final


def open_output(
    parser: argparse.ArgumentParser, out: Path | None, study: str, overwrite: bool
) -> Output:
    """Validate ``--out`` and create the temporary directory beside it (exit 2 if unusable).

    With ``out=None`` a new time-stamped directory under ``results/<study>/`` is used.
    An existing non-empty directory is refused unless ``overwrite`` is true, and even
    then unless it holds an earlier result (``summary.json`` or ``run.json``) and not
    the working directory: it is replaced wholly at the end. A path that cannot be
    created or written (inside a file, in ``/proc``, read-only) is refused here, before
    any work.
    """
    if out is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        out = Path("results") / study / stamp

    def fail(why: str) -> None:
        parser.error(f"argument --out: {why}")

    try:
        # Resolve first: 'missing/../' must be judged as the directory it really names.
        final = Path(out).expanduser().resolve()
        if final.exists() and not final.is_dir():
            fail(f"{final} exists and is not a directory")
        if final.is_dir() and any(final.iterdir()):
            if not overwrite:
                fail(f"{final} is not empty; pass --overwrite to replace it")
            # --overwrite deletes the directory: only an earlier result, never a directory
            # the user keeps other things in (or the one they are working in)
            if not any((final / name).is_file() for name in ("summary.json", "run.json")):
                fail(f"{final} holds no earlier results (no summary.json); not replacing it")
            if Path.cwd().resolve().is_relative_to(final):
                fail(f"{final} contains the working directory; not replacing it")
        if final.parent == final:
            fail(f"{final} is a root directory")
        created = _make_parents(final)
        if not os.access(final.parent, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied", str(final.parent))
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    except (OSError, RuntimeError, ValueError) as err:  # also '~nobody/x', a NUL byte
        fail(f"cannot write to {out!s}: {getattr(err, 'strerror', None) or err}")
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; results follow the umask
    return Output(final, tmp, created, overwrite)


class OutputFile:
    """One output file, validated before any work and written complete or not at all.

    :func:`open_output_file` creates an empty temporary file beside the target (so an
    unusable path fails at once); write to :attr:`tmp` and call :meth:`commit` to
    rename it into place. Until then :func:`cli` (or :meth:`abort`) removes it, with any
    parent directory created for it.
    """

    def __init__(self, path: Path, tmp: Path, created: list[Path]) -> None:
        self.path, self.tmp, self._created = path, tmp, created
        self.done = False
        _active.append(self)

    def commit(self) -> Path:
        """Move the written temporary file into place."""
        check_interrupt()
        os.replace(self.tmp, self.path)
        self.done = True
        return self.path

    def abort(self) -> None:
        """Remove the temporary file and any parent directory created for it."""
        try:
            self.tmp.unlink()
        except OSError:
            pass
        for d in self._created:
            try:
                d.rmdir()
            except OSError:
                break
        self.done = True


def _make_parents(path: Path) -> list[Path]:
    """Create ``path.parent`` (and its parents); return the directories created."""
    created = []
    for parent in [path.parent, *path.parent.parents]:
        if parent.exists():
            break
        created.append(parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    return created


def open_output_file(parser: argparse.ArgumentParser, path: Path, flag: str) -> OutputFile:
    """Validate an output file path given to ``flag`` (exit 2 if unusable) and reserve it.

    Refused: an existing directory, a path inside a file, a place that cannot be written.
    """
    try:
        path = Path(path).expanduser().resolve()
        if path.is_dir():
            parser.error(f"argument {flag}: {path} is a directory")
        created = _make_parents(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.partial-", suffix=path.suffix, dir=path.parent
        )
        os.close(fd)
    except (OSError, RuntimeError, ValueError) as err:  # also '~nobody/x', a NUL byte
        parser.error(
            f"argument {flag}: cannot write to {path!s}: {getattr(err, 'strerror', None) or err}"
        )
    os.chmod(tmp, 0o666 & ~_umask())
    return OutputFile(path, Path(tmp), created)


def study_config(args: argparse.Namespace) -> dict[str, Any]:
    """The flags that determine a study's results (not where or how it reports them)."""
    skip = {"out", "overwrite", "no_progress"}
    return {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in skip
    }


def run_info(
    study: str,
    argv: list[str] | None,
    *,
    dtype: str,
    timings_s: dict[str, float],
    wall_s: float,
    **extra: Any,
) -> dict[str, Any]:
    """Provenance for ``run.json``: command line, versions, devices, dtype and timings."""
    import platform
    from importlib import metadata

    import jax
    import numpy as np

    import ascentjax

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    import shlex

    args = sys.argv[1:] if argv is None else list(argv)
    prog = extra.pop("prog", f"python -m sims.{study}")
    return {
        "study": study,
        "command": " ".join([prog, *(shlex.quote(a) for a in args)]),
        "argv": args,
        "finished_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_s": wall_s,
        "timings_s": timings_s,
        "dtype": dtype,
        "versions": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "jaxlib": version("jaxlib"),
            "numpy": np.__version__,
            "ascentjax": getattr(ascentjax, "__version__", None),
        },
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "platform": platform.platform(),
        **extra,
    }


class ReferenceDiverged(Exception):
    """A stage that every comparison of the study needs (pretraining, the oracle)
    diverged, so nothing meaningful can be computed. :func:`cli` prints the message on
    one line, leaves no output, and returns ``EXIT_DIVERGED``."""


_interrupted = [False]


def check_interrupt() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C arrived but was swallowed on its way.

    Python reports an exception raised inside a garbage-collector callback (JAX has
    one) as "ignored" and carries on; :func:`cli` notes the signal, delivers it again
    and calls this before anything is moved into place, so such an interrupt still
    ends the run.
    """
    if _interrupted[0]:
        raise KeyboardInterrupt


def _redeliver(delay: float) -> None:
    import _thread
    import threading

    threading.Timer(delay, _thread.interrupt_main).start()


def _on_sigint(signum: int, frame: Any) -> None:
    _interrupted[0] = True
    f = frame
    while f is not None:
        # an exception inside a module being imported can leave a compiled extension
        # half-initialised (a crash at exit); deliver it again once the import is done
        if f.f_code.co_filename.startswith("<frozen importlib"):
            _redeliver(0.05)
            return
        f = f.f_back
    raise KeyboardInterrupt


def _unraisable(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    def handle(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            _redeliver(0.01)  # from another thread: it lands outside the callback
            return
        hook(unraisable)

    return handle


def cli(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """Wrap a study's ``main``: Ctrl-C prints ``interrupted`` and returns 130, no traceback.

    The study's :class:`Output` context has already removed its partial results.
    """

    @functools.wraps(main)
    def wrapper(argv: list[str] | None = None) -> int:
        import signal

        _interrupted[0] = False
        old_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable(old_hook)
        try:
            old_handler = signal.signal(signal.SIGINT, _on_sigint)
        except ValueError:  # not the main thread: keep Python's default
            old_handler = None
        try:
            return main(argv)
        except ReferenceDiverged as err:
            sys.stdout.flush()
            print(f"error: {err}", file=sys.stderr)
            return EXIT_DIVERGED
        except BaseException as err:
            # Ctrl-C, also when Python wrapped it in another exception (an interrupt
            # inside a class body's __set_name__ surfaces as a RuntimeError)
            if not (isinstance(err, KeyboardInterrupt) or _interrupted[0]):
                raise
            sys.stdout.flush()
            # on a terminal a progress bar may hold the current line: start a new one
            lead = "\n" if sys.stderr.isatty() else ""
            print(f"{lead}interrupted", file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        finally:
            while _active:
                output = _active.pop()
                if not output.done:
                    output.abort()
            sys.unraisablehook = old_hook
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)

    return wrapper


def exit_script(main: Callable[[], int]) -> None:
    """``raise SystemExit(main())`` for ``python -m``; an interrupted run exits at once.

    After Ctrl-C, XLA worker threads may still be running a dispatched computation;
    tearing the interpreter down under them can crash, so the process ends with
    ``os._exit`` once the outputs are cleaned up and the streams flushed.
    """
    status = main()
    if status == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    raise SystemExit(status)


# ----------------------------------------------------------------------------- atomic writes
def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes it private; follow the umask
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
        for item in bar:
            check_interrupt()
            yield item


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


def sweep_with_bar(
    fn: Callable[..., Any],
    *args: Any,
    every: int,
    desc: str,
    unit: str = "draw",
    disable: bool = False,
    **kwargs: Any,
) -> Any:
    """:func:`ascentjax.sweep` of ``fn`` over ``args`` with a progress bar; NumPy results.

    The bar advances through ``sweep``'s own ``progress`` callback, every ``every`` rows
    (``progress_every``); ``kwargs`` go to ``sweep``.
    """
    import jax
    import numpy as np

    import ascentjax as aj

    n = len(jax.tree_util.tree_leaves(args[0])[0])
    bar = progress_bar(total=n, desc=desc, unit=unit, disable=disable)

    def report(done: int, _: int) -> None:
        check_interrupt()
        bar.update(done - bar.n)

    try:
        out = aj.sweep(fn, *args, progress=report, progress_every=every, **kwargs)
    finally:
        bar.close()
    return jax.tree_util.tree_map(np.asarray, out)


class StageTimer:
    """One progress bar over a study's compiled stages, and the seconds each took.

    :meth:`call` runs one stage and advances the bar by its size; :meth:`rows` runs a
    function over a grid's rows in equal blocks (the last one padded, so each grid
    compiles once), one tick per block. ``timings`` maps stage names to seconds.
    """

    def __init__(self, total: int, desc: str, unit: str = "it", disable: bool = False) -> None:
        self.bar = progress_bar(total=total, desc=desc, unit=unit, disable=disable)
        self.timings: dict[str, float] = {}

    def call(self, name: str, fn: Callable[[], Any], units: int) -> Any:
        """``fn()``, timed under ``name``; the bar advances by ``units``."""
        import time

        import jax

        self.bar.set_description(name)
        t0 = time.perf_counter()
        res = jax.block_until_ready(fn())
        self.timings[name] = time.perf_counter() - t0
        self.bar.update(units)
        return res

    def rows(self, name: str, fn: Callable[[Any], Any], rows: Any, n_cols: int, block: int) -> Any:
        """``fn`` over consecutive blocks of ``rows`` (about ``block // n_cols`` rows each),
        concatenated as NumPy arrays; the bar advances by ``n_cols`` per row."""
        import time

        import jax
        import numpy as np

        self.bar.set_description(name)
        t0 = time.perf_counter()
        step = max(1, min(len(rows), block // n_cols))
        parts = []
        for lo in range(0, len(rows), step):
            part = rows[lo : lo + step]
            k = len(part)
            part = np.concatenate([part, np.repeat(part[-1:], step - k)])
            res = jax.block_until_ready(fn(part))
            parts.append(jax.tree_util.tree_map(lambda a, k=k: np.asarray(a)[:k], res))
            self.bar.update(k * n_cols)
        self.timings[name] = time.perf_counter() - t0
        return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *parts)

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()
