"""``--method`` specs: a user's object loaded from a module or a file, bad specs refused."""

from __future__ import annotations

import argparse

import pytest

from sims._plugins import load_object, method_type


def test_loads_from_module_and_from_file(tmp_path) -> None:
    import ascentjax as aj

    assert load_object("ascentjax:simultaneous_da") is aj.simultaneous_da
    f = tmp_path / "mine.py"
    f.write_text("def my_method(problem, learning_rate):\n    return learning_rate * 2\nX = 3\n")
    fn = method_type(f"{f}:my_method")
    assert fn(None, 21) == 42


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "MODULE:NAME"),
        ("ascentjax:", "MODULE:NAME"),
        ("ascentjax:not_a_name", "no attribute 'not_a_name'"),
        ("no_such_module_xyz:f", "cannot import no_such_module_xyz"),
        ("/nonexistent/file.py:f", "no such file"),
    ],
)
def test_bad_specs_name_the_problem(spec, message) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        method_type(spec)


def test_non_callable_and_broken_file_are_refused(tmp_path) -> None:
    f = tmp_path / "mine.py"
    f.write_text("X = 3\n")
    with pytest.raises(argparse.ArgumentTypeError, match="int, not a callable"):
        method_type(f"{f}:X")
    g = tmp_path / "broken.py"
    g.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(argparse.ArgumentTypeError, match="RuntimeError: boom"):
        method_type(f"{g}:f")
