"""Load a user's object (an unlearning method) named on the command line.

``--method`` takes ``PKG.MODULE:NAME`` (an importable module) or ``path/to/file.py:NAME``
(a file, imported under a private module name). :func:`method_type` is the argparse
``type=`` for it: a bad spec is an argparse error (exit 2, one line naming the flag),
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def load_object(spec: str) -> Any:
    """The object ``NAME`` of ``PKG.MODULE:NAME`` or ``path/to/file.py:NAME``.

    Raises:
        ValueError: the spec is malformed, the module or file cannot be imported,
            or it has no attribute ``NAME``; the message says which.
    """
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name.isidentifier():
        raise ValueError(f"expected MODULE:NAME or FILE.py:NAME, got {spec!r}")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ValueError(f"no such file: {target}")
        mod_name = f"_ascentjax_user_{abs(hash(str(path.resolve())))}"
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        if module_spec is None or module_spec.loader is None:  # pragma: no cover
            raise ValueError(f"cannot import {target}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[mod_name]
            raise ValueError(f"importing {target} failed: {type(err).__name__}: {err}") from None
    else:
        try:
            module = importlib.import_module(target)
        except Exception as err:
            raise ValueError(f"cannot import {target}: {type(err).__name__}: {err}") from None
    try:
        return getattr(module, name)
    except AttributeError:
        raise ValueError(f"{target} has no attribute {name!r}") from None


def method_type(text: str) -> Callable[..., Any]:
    """argparse ``type=`` for ``--method``: a callable loaded by :func:`load_object`."""
    try:
        obj = load_object(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if not callable(obj):
        raise argparse.ArgumentTypeError(f"{text} is a {type(obj).__name__}, not a callable")
    return obj
