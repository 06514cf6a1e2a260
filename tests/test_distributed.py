"""sweep on JAX's distributed runtime: two local processes equal one (loopback, gloo)."""

from __future__ import annotations

import uuid
from pathlib import Path

import jax
import numpy as np
import pytest

import ascentjax as aj
from benchmarks.multihost import launch, problem, rel_diff

# the reference DA sweep, small: 96 seeds with their own data, float32
CFG = dict(S=96, n=16, d=4, T=40, stride=10, lr=0.1, lam=0.1)


def test_two_process_sweep_equals_single_process(tmp_path: Path) -> None:
    out = tmp_path / "out.npz"
    procs = launch(2, {"cfg": CFG, "repeats": 1, "out": str(out)}, timeout=120)
    assert [p["process"] for p in procs] == [0, 1]
    # each process sees its own CPU device and both devices of the job
    assert all(p["processes"] == 2 and p["devices"] == 2 for p in procs)
    assert all(p["local_devices"] == 1 for p in procs)
    fn, args = problem(CFG)
    final, observed = aj.sweep(fn, *args, devices=jax.devices()[:1])
    with np.load(out) as f:
        got = {k: f[k] for k in f.files}
    assert got["final"].dtype == np.float32 and got["final"].shape == (CFG["S"], CFG["d"])
    ref = {"final": np.asarray(final), "observed": np.asarray(observed)}
    # the same per-seed float32 program on 48 instead of 96 rows per device: only the
    # vectorisation of a batch's remainder can differ, i.e. float32 rounding (2^-24 ~ 6e-8
    # per operation on a contracting map); the tolerance is the 1e-6
    assert rel_diff(got, ref) <= 1e-6


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_launch_is_bounded_in_time_and_kills_its_processes() -> None:
    token = uuid.uuid4().hex
    with pytest.raises(RuntimeError, match="timed out"):
        launch(2, {"cfg": CFG, "repeats": 1, "token": token}, timeout=0.5)
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().decode(errors="replace")
        except OSError:  # the process ended while we looked
            continue
        assert token not in text, f"a launched process survived: {cmdline.parent.name}"


def test_study_launcher_flags(capsys) -> None:
    from sims.distributed import build_parser, main, study_argv

    args = build_parser().parse_args(["one_coordinate", "--seeds", "8", "--out", "res"])
    assert args.study == "one_coordinate" and args.study_args == ["--seeds", "8", "--out", "res"]
    # process 0 writes where the user said; the others into their scratch directory
    assert study_argv(args.study_args, 0, "/tmp/x") == ["--seeds", "8", "--out", "res"]
    assert study_argv(["--out=res", "--seeds", "8"], 1, "/tmp/x") == [
        "--seeds",
        "8",
        "--out",
        "/tmp/x",
        "--overwrite",
        "--no-progress",
    ]
    for bad, message in (
        (["nope"], "invalid choice"),
        (["--coordinator", "127.0.0.1:1", "one_coordinate"], "go together"),
        (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2", "klom"], "[0, 2)"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(bad)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err
