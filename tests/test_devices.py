"""One JAX CPU device per core before JAX starts; ``--devices`` on every entry point."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sims import _devices
from sims._devices import FLAG, configure_devices, devices_from_argv, with_device_count

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ["da_atlas", "klom", "logreg_divergence", "one_coordinate", "random_forget"]
STUDIES += ["toy_landscape"]


def test_with_device_count_replaces_or_appends() -> None:
    assert with_device_count(None, 4) == f"{FLAG}=4"
    assert with_device_count(f"--xla_cpu_foo=1 {FLAG}=2", 3) == f"--xla_cpu_foo=1 {FLAG}=3"


def test_devices_from_argv() -> None:
    assert devices_from_argv(["--quick", "--devices", "3"]) == 3
    assert devices_from_argv(["--devices=5"]) == 5
    assert devices_from_argv(["--quick"]) is None
    assert devices_from_argv(["--devices", "0"]) is None  # left for argparse to reject


@pytest.fixture
def before_jax(monkeypatch):
    """This process as if JAX had not started yet, its XLA_FLAGS restored afterwards."""
    monkeypatch.delitem(sys.modules, "jax")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setattr(_devices, "cpu_cores", lambda: 6)
    return monkeypatch


def test_configure_devices_default_is_one_per_core(before_jax) -> None:
    assert configure_devices(None) == 6
    assert os.environ["XLA_FLAGS"] == f"{FLAG}=6"


def test_configure_devices_respects_the_user(before_jax) -> None:
    before_jax.setenv("XLA_FLAGS", f"--xla_cpu_foo=1 {FLAG}=2")
    assert configure_devices(None) == 2  # the user's count stays
    assert os.environ["XLA_FLAGS"] == f"--xla_cpu_foo=1 {FLAG}=2"
    assert configure_devices(3) == 3  # --devices overrides it, other flags kept
    assert os.environ["XLA_FLAGS"] == f"--xla_cpu_foo=1 {FLAG}=3"


def test_configure_devices_after_jax_started_changes_nothing(monkeypatch) -> None:
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert configure_devices(None) is None
    with pytest.warns(RuntimeWarning, match="--devices 3 ignored"):
        assert configure_devices(3) is None
    assert "XLA_FLAGS" not in os.environ


def test_jax_sees_the_configured_devices() -> None:
    code = (
        "from sims._devices import configure_devices; configure_devices(3); "
        "import jax; print(len(jax.devices('cpu')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "3"


@pytest.mark.parametrize("study", STUDIES)
def test_every_study_has_a_devices_flag(study: str, capsys) -> None:
    parser = importlib.import_module(f"sims.{study}").build_parser()
    assert parser.parse_args(["--devices", "2"]).devices == 2
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--devices", "0"])
    assert exc.value.code == 2
    assert "argument --devices: must be >= 1, got 0" in capsys.readouterr().err


def test_benchmarks_devices_flag_is_validated() -> None:
    from benchmarks.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["--quick", "--devices", "0"])
    assert exc.value.code == 2
