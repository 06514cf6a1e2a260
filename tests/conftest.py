"""Test configuration.

Theory checks run in float64: x64 is switched on for the whole test session
here (the library itself never touches the flag). Tests that exercise the
float32 default of the sweeps pass ``dtype=jnp.float32`` explicitly.
Strict dtype promotion would reject the library's documented mixing of Python
scalars with arrays, so the standard promotion rules are kept. The docstring examples
(doctests) run with x64 off, as a user sees them (see the repository's ``conftest.py``).
"""

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    """A fixed PRNG key so every test is reproducible."""
    return jax.random.key(0)
