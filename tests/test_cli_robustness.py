"""Every command-line tool survives bad input, interrupts and kills.

One table of bad inputs runs against every CLI (the six studies, ``proofs`` and
``benchmarks``): each must exit with status 2, print exactly one error line that names
the flag, no traceback, and leave nothing behind (no ``--out`` directory, no hidden
partial directory or file beside it). A few rows also run as real subprocesses. The
interrupt tests send SIGINT or SIGKILL to a running command and check that no
half-written result is left. Determinism of ``summary.json`` is checked in each study's
own test module (the ``rerun_identical`` fixture of ``conftest.py``), reusing the run it
makes anyway.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CLIS = {
    "logreg_divergence": "sims.logreg_divergence",
    "one_coordinate": "sims.one_coordinate",
    "random_forget": "sims.random_forget",
    "toy_landscape": "sims.toy_landscape",
    "da_atlas": "sims.da_atlas",
    "klom": "sims.klom",
    "proofs": "proofs.__main__",
    "benchmarks": "benchmarks.__main__",
}
STUDIES = [name for name, module in CLIS.items() if module.startswith("sims.")]

# Tiny sizes put first, so that a row that wrongly passed validation would still finish
# quickly; a row's own flags come later and win (argparse keeps the last value).
SAFE = {
    "logreg_divergence": ["--seeds", "2", "--steps", "10"],
    "one_coordinate": ["--seeds", "2", "--steps", "10", "--alpha-points", "2"],
    "random_forget": ["--draws", "10", "--n-train", "10", "--n-test", "10",
                      "--forget-sizes", "2", "--unlearn-draws", "2", "--steps", "2",
                      "--stride", "1", "--datasets", "gaussian"],
    "toy_landscape": ["--seeds", "4", "--resolution", "8", "--steps", "100"],
    "da_atlas": ["--n", "8", "--n2d", "8", "--n-bif", "8", "--iters", "256", "--record", "192"],
    "klom": ["--max-train", "40", "--n-models", "4", "--epochs", "1", "--batch-size", "8",
             "--datamodel-models", "0"],
    "proofs": ["--fast", "--only", "random_forget"],
    "benchmarks": ["--quick", "--workload", "da_sweep"],
}  # fmt: skip

# Placeholders: {file} an existing file, {dir} an existing directory, {full} a non-empty
# directory. /proc cannot hold new files; /sys is read-only (even for root).
BAD_OUT = [
    (["--out", "/proc/ascentjax-test/out"], "--out"),
    (["--out", "/sys/ascentjax-test"], "--out"),
    (["--out", "{file}/sub"], "--out"),
    (["--out", "{file}"], "--out"),
    (["--out", "{full}"], "--out"),
    (["--out", "{full}", "--overwrite"], "--out"),  # not an earlier result: not deleted
    (["--out", "~no-such-user-ascentjax/out"], "--out"),
    (["--out", "a\x00b"], "--out"),
]
BAD = [
    *[(study, argv, flag) for study in STUDIES for argv, flag in BAD_OUT],
    ("logreg_divergence", ["--seed", "99999999999999999999999"], "--seed"),
    ("logreg_divergence", ["--seeds", "2000000000"], "--seeds"),  # terabytes
    ("logreg_divergence", ["--seeds", "1e9"], "--seeds"),
    ("logreg_divergence", ["--lam", "1e300"], "--lam"),
    ("logreg_divergence", ["--lr", "1e300"], "--lr"),
    ("logreg_divergence", ["--noise", "1e300"], "--noise"),
    ("logreg_divergence", ["--lam", "nan"], "--lam"),
    (
        "logreg_divergence",
        ["--block-size", "1500000000", "--n-retain", "1500000000", "--n-forget", "100000000"],
        "--block-size",
    ),  # fmt: skip
    ("one_coordinate", ["--seed", "-1"], "--seed"),
    ("one_coordinate", ["--seeds", "2000000000"], "--seeds"),
    ("one_coordinate", ["--lr", "1e300"], "--lr"),
    ("one_coordinate", ["--alpha", "1e300"], "--alpha"),
    ("one_coordinate", ["--bound", "inf"], "--bound"),
    ("random_forget", ["--seed", "4294967296"], "--seed"),
    ("random_forget", ["--n-train", "2000000000"], "--n-train"),
    ("random_forget", ["--separation", "1e300"], "--separation"),
    ("random_forget", ["--delta", "1e-40"], "--delta"),  # flushes to 0 in float32
    ("random_forget", ["--lrs", "0.1", "1e300"], "--lrs"),
    ("toy_landscape", ["--ratio", "1e300"], "--ratio"),
    ("toy_landscape", ["--lam", "1e300"], "--lam"),
    ("toy_landscape", ["--lam", "1e-40"], "--lam"),
    ("toy_landscape", ["--lam", "1e-400"], "--lam"),  # reads as 0.0 even in float64
    ("toy_landscape", ["--phase-max-ratio", "1e300"], "--phase-max-ratio"),
    ("toy_landscape", ["--a-range", "1", "0"], "--a-range"),
    ("da_atlas", ["--eta-max", "1e300"], "--eta-max"),
    ("da_atlas", ["--n", "1000000"], "--n"),
    ("da_atlas", ["--chunk", "2000000000"], "--chunk"),
    ("da_atlas", ["--lam", "1e-40"], "--lam"),
    ("klom", ["--max-train", "20", "--min-forget", "10"], "--min-forget"),
    ("klom", ["--n-models", "2000000000"], "--n-models"),
    ("klom", ["--lr", "1e300"], "--lr"),
    ("klom", ["--eps", "1e-45"], "--eps"),
    ("klom", ["--seed", "99999999999999999999999"], "--seed"),
    ("klom", ["--batch-size", "100000"], "--batch-size"),
    ("proofs", ["--json", "{dir}"], "--json"),
    ("proofs", ["--json", "/proc/ascentjax-test/report.json"], "--json"),
    ("proofs", ["--json", "{file}/report.json"], "--json"),
    ("proofs", ["--only", "no_such_module"], "--only"),
    ("proofs", ["--json", "~no-such-user-ascentjax/report.json"], "--json"),
    ("benchmarks", ["--json", "{dir}"], "--json"),
    ("benchmarks", ["--json", "/proc/ascentjax-test/bench.json"], "--json"),
    ("benchmarks", ["--out", "/proc/ascentjax-test/out"], "--out"),
    ("benchmarks", ["--out", "{full}"], "--out"),
    ("benchmarks", ["--overwrite"], "--overwrite"),
    ("benchmarks", ["--repeats", "0"], "--repeats"),
    ("benchmarks", ["--workload", "no_such_workload"], "--workload"),
]


@pytest.fixture
def place(tmp_path: Path) -> dict[str, Path]:
    """An existing file, an empty directory and a non-empty one, under ``tmp_path/in``."""
    base = tmp_path / "in"
    base.mkdir()
    (base / "afile").write_text("not a directory")
    (base / "adir").mkdir()
    (base / "full").mkdir()
    (base / "full" / "keep.txt").write_text("an earlier result")
    return {"file": base / "afile", "dir": base / "adir", "full": base / "full"}


def _listing(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"" for p in root.rglob("*")
    }


def _argv(name: str, row: list[str], place: dict[str, Path], out: Path) -> list[str]:
    row = [a.format(**place) for a in row]
    extra = []
    if name in STUDIES:
        extra = ["--no-progress"] + ([] if "--out" in row else ["--out", str(out)])
    return [*SAFE[name], *extra, *row]


def _check_one_error_line(err: str, flag: str) -> None:
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if ": error:" in line]
    assert len(errors) == 1, err
    assert err.rstrip().splitlines()[-1] == errors[0]  # the message is the last line
    assert f"argument {flag}" in errors[0] or flag in errors[0], errors[0]


@pytest.mark.parametrize("name,row,flag", BAD, ids=[f"{n}:{' '.join(r)[:40]}" for n, r, _ in BAD])
def test_bad_input_exits_2_naming_the_flag(name, row, flag, place, tmp_path, capsys) -> None:
    if any(a.startswith("/sys/") for a in row) and not Path("/sys").is_dir():
        pytest.skip("no /sys on this system")
    main = importlib.import_module(CLIS[name]).main
    before = _listing(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(_argv(name, row, place, out))
    assert exc.value.code == 2
    _check_one_error_line(capsys.readouterr().err, flag)
    assert _listing(tmp_path) == before  # nothing created, nothing removed or changed


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_out_exits_2(tmp_path, capsys) -> None:
    from sims import logreg_divergence

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(SystemExit) as exc:
            logreg_divergence.main(["--out", str(ro / "out")])
        assert exc.value.code == 2
        _check_one_error_line(capsys.readouterr().err, "--out")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def _run(module: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *argv], cwd=ROOT, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "module,argv,flag",
    [
        ("sims.logreg_divergence", ["--out", "/proc/ascentjax-test/out"], "--out"),
        ("sims.da_atlas", ["--eta-max", "1e300"], "--eta-max"),
        ("proofs", ["--json", "{dir}"], "--json"),
        ("benchmarks", ["--json", "/proc/ascentjax-test/b.json"], "--json"),
    ],
)
def test_bad_input_in_a_subprocess(module, argv, flag, place) -> None:
    proc = _run(module, *(a.format(**place) for a in argv))
    assert proc.returncode == 2
    _check_one_error_line(proc.stderr, flag)


# ----------------------------------------------------------------------------- interrupts
class Running:
    """A command started in a subprocess, its stderr collected as it comes."""

    def __init__(self, *argv: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *argv],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := self.proc.stderr.read(1):
            self.err += chunk

    def wait_for(self, ready, timeout: float = 90) -> None:
        """Wait until ``ready()`` (the run is past validation, computing)."""
        t0 = time.monotonic()
        while not ready():
            assert self.proc.poll() is None, self.err
            assert time.monotonic() - t0 < timeout, f"never got going: {self.err}"
            time.sleep(0.05)

    def finish(self) -> int:
        self.proc.wait(timeout=120)
        self._reader.join(timeout=10)
        self.proc.stderr.close()
        return self.proc.returncode


# A study run long enough to be interrupted mid-computation (tens of seconds); its first
# progress bar shows that it is computing.
LONG_STUDY = ["sims.logreg_divergence", "--seeds", "4096", "--steps", "2000"]


@pytest.mark.parametrize(
    "argv,target,computing",
    [
        (LONG_STUDY, "--out", "alpha-window vs rho"),
        (["proofs"], "--json", None),
        (["benchmarks", "--quick", "--workload", "da_compare"], "--out", None),
    ],
    ids=["study", "proofs", "benchmarks"],
)
def test_sigint_prints_interrupted_and_leaves_nothing(argv, target, computing, tmp_path) -> None:
    result = tmp_path / ("out" if target == "--out" else "report.json")
    run = Running(*argv, target, str(result))
    if computing is None:  # no progress bar: wait for the reserved output, then a second
        run.wait_for(lambda: list(tmp_path.glob(f".{result.name}.partial-*")))
        time.sleep(1.0)
    else:
        run.wait_for(lambda: computing in run.err)
    run.proc.send_signal(signal.SIGINT)
    assert run.finish() == 130, run.err
    assert "Traceback" not in run.err and run.err.strip().splitlines()[-1] == "interrupted"
    assert list(tmp_path.iterdir()) == []  # no result, no partial file or directory


def test_sigkill_during_overwrite_keeps_the_finished_results(tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"an": "earlier complete run"}\n')
    (out / "table.md").write_text("earlier table\n")
    before = _listing(out)
    run = Running(*LONG_STUDY, "--out", str(out), "--overwrite")
    run.wait_for(lambda: "alpha-window vs rho" in run.err)
    run.proc.kill()
    run.finish()
    # the earlier results are intact and unmixed; the killed run's files stay in a hidden
    # partial directory that never looks finished
    assert _listing(out) == before
    partial = [p for p in tmp_path.iterdir() if p.name != "out"]
    assert partial and all(p.name.startswith(".out.partial-") for p in partial)
    assert not any((p / "summary.json").exists() for p in partial)


# ----------------------------------------------------------------------------- help
@pytest.mark.parametrize("name", list(CLIS))
def test_help_shows_every_flag_with_its_default(name, capsys) -> None:
    main = importlib.import_module(CLIS[name]).main
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    printed = capsys.readouterr().out
    parser = _parser_of(name)
    formatter = parser._get_formatter()
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            shown = formatter._get_help_string(action) or ""
            assert "(default" in shown, f"{name} {action.option_strings[0]}: {shown!r}"
            assert shown.split("(default")[0].strip(), f"{name} {action.option_strings[0]}"
    assert all(len(line) < 120 for line in printed.splitlines())


def _parser_of(name: str):
    module = importlib.import_module(CLIS[name])
    if name == "benchmarks":
        from benchmarks import load_workloads

        return module._parser(load_workloads())
    return module.build_parser() if hasattr(module, "build_parser") else module._parser()
