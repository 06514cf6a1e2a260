"""Test configuration.

Theory checks run in float64: x64 is switched on for the whole test session
here (the library itself never touches the flag). Tests that exercise the
float32 default of the sweeps pass ``dtype=jnp.float32`` explicitly.
Strict dtype promotion would reject the library's documented mixing of Python
scalars with arrays, so the standard promotion rules are kept. The docstring examples
(doctests) run with x64 off, as a user sees them (see the repository's ``conftest.py``).
"""

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    """A fixed PRNG key so every test is reproducible."""
    return jax.random.key(0)


@pytest.fixture
def rerun_identical() -> Callable[[Callable[[list[str]], int], list[str], Path], None]:
    """Check a study's second run; each study's test module calls it after the run it
    makes anyway, so determinism costs one warm (already compiled) run per study."""
    return assert_rerun_identical


def assert_rerun_identical(main: Callable[[list[str]], int], argv: list[str], out: Path) -> None:
    """Re-run a finished study into its own ``out`` with ``--overwrite`` and check that

    * ``summary.json`` comes back byte-identical (same flags, same seed);
    * a file planted in ``out`` is gone (``--overwrite`` replaces the directory wholly);
    * ``run.json`` records the provenance, and nothing else in ``out`` names ``out``;
    * files and directories follow the umask (not 0600 / 0700);
    * no hidden partial directory is left beside ``out``.
    """
    before = (out / "summary.json").read_bytes()
    (out / "stale-from-an-earlier-run.txt").write_text("stale")
    mask = os.umask(0o022)
    try:
        assert main([*argv, "--out", str(out), "--overwrite"]) == 0
    finally:
        os.umask(mask)
    assert (out / "summary.json").read_bytes() == before
    assert not (out / "stale-from-an-earlier-run.txt").exists()
    assert str(out) not in before.decode()
    run = json.loads((out / "run.json").read_text())
    assert {"command", "argv", "versions", "devices", "dtype", "timings_s", "wall_s"} <= set(run)
    assert {"python", "jax", "jaxlib", "numpy", "ascentjax"} <= set(run["versions"])
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")] == []
