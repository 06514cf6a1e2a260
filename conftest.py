"""Shared pytest configuration for the tests and the docstring examples.

``python -m pytest`` also collects the docstring examples of ``ascentjax`` (doctests).
They show what a user sees with JAX's defaults, so each one runs with 64-bit types off,
whatever the tests switch on for themselves (``tests/conftest.py`` enables x64 for the
theory checks): ``jax.enable_x64(False)`` is a context manager local to the running thread.

Two things keep the suite fast without changing what it checks:

* **One compilation cache per test session.** The suite runs in several processes (the
  pytest-xdist workers, and the studies, docs pages and snippets it starts as
  subprocesses), which compile many of the same programs. Unless ``JAX_COMPILATION_CACHE_DIR``
  is already set, the session's first process points JAX's persistent compilation cache
  at a fresh temporary directory, which every worker and subprocess inherits through the
  environment, and removes it at the end. A cached executable is the one XLA compiled
  for the same program, so results do not change.
* **Long tests first.** Tests marked ``slow`` (the docs build, the study end-to-end runs,
  the full proof grids) are moved to the front of the run, so that with ``-n 2`` one
  of them never starts last while the other worker sits idle.
"""

import os
import shutil
import tempfile

if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="ascentjax-test-jax-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
else:
    _CACHE = None

import jax  # noqa: E402  (after the cache directory is in the environment)
import pytest  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    if _CACHE is not None:
        shutil.rmtree(_CACHE, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        rest = [item for item in items if item.get_closest_marker("slow") is None]
        items[:] = slow + rest


@pytest.fixture(autouse=True)
def _doctests_in_default_precision(request):
    if isinstance(request.node, pytest.DoctestItem):
        with jax.enable_x64(False):
            yield
    else:
        yield
