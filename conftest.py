"""Shared pytest configuration for the tests and the docstring examples.

``python -m pytest`` also collects the docstring examples of ``ascentjax`` (doctests).
They show what a user sees with JAX's defaults, so each one runs with 64-bit types off,
whatever the tests switch on for themselves (``tests/conftest.py`` enables x64 for the
theory checks): ``jax.enable_x64(False)`` is a context manager local to the running thread.
"""

import jax
import pytest


@pytest.fixture(autouse=True)
def _doctests_in_default_precision(request):
    if isinstance(request.node, pytest.DoctestItem):
        with jax.enable_x64(False):
            yield
    else:
        yield
