"""The public API: the core in ``ascentjax``, the theory in ``ascentjax.theory``; every name
documented, typed and really public."""

from __future__ import annotations

import inspect

import pytest

import ascentjax

PACKAGES = [ascentjax, ascentjax.theory, ascentjax.toy, ascentjax.nets, ascentjax.stress]
SUBPACKAGES = ("nets", "stress", "theory", "toy")


def _private_modules(package: object = ascentjax) -> dict[str, object]:
    return {
        n: getattr(package, n)
        for n in sorted(vars(package))
        if n.startswith("_") and not n.startswith("__") and inspect.ismodule(getattr(package, n))
    }


def _public(package: object) -> list[tuple[str, object]]:
    return [(n, getattr(package, n)) for n in package.__all__]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_all_is_sorted_unique_and_resolves(package: object) -> None:
    names = list(package.__all__)
    assert all(isinstance(n, str) for n in names)
    assert names == sorted(names), [a for a, b in zip(names, sorted(names)) if a != b]
    dup = sorted({n for n in names if names.count(n) > 1})
    assert not dup, f"names listed twice in __all__: {dup}"
    for name in names:
        assert hasattr(package, name), name
        assert not name.startswith("_"), name
    # nothing public is left out of __all__ (subpackages are attributes, not names)
    extra = [
        n for n in dir(package) if not n.startswith("_") and n not in names and n not in SUBPACKAGES
    ]
    assert not extra, f"public attributes missing from __all__: {extra}"


def test_subpackages_exist() -> None:
    for name in SUBPACKAGES:
        assert inspect.ismodule(getattr(ascentjax, name)), name
    # One name per concept: a subpackage reuses a core name only for the same method in its
    # own setting (gradient ascent on a linear model in the core, on networks in nets).
    shared = {
        "nets": {"gradient_ascent"},
        "stress": {"gradient_ascent", "iterative_da", "retrain", "simultaneous_da"},
        "theory": set(),
        "toy": set(),
    }
    for name in SUBPACKAGES:
        both = set(ascentjax.__all__) & set(getattr(ascentjax, name).__all__)
        assert both == shared[name], (name, both)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_module_all_lists_are_unique_and_make_up_the_namespace(package: object) -> None:
    """Each private module lists its names once; the package's ``__all__`` is exactly their
    union (a duplicate inside one module would be hidden by a set)."""
    union: set[str] = set()
    for modname, mod in _private_modules(package).items():
        names = list(getattr(mod, "__all__", []))
        dup = sorted({n for n in names if names.count(n) > 1})
        assert not dup, f"{modname}.__all__ lists {dup} twice"
        if modname not in ("_validation",):
            union |= set(names)
    assert union == set(package.__all__)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_public_name_has_a_docstring(package: object) -> None:
    undocumented = []
    for name, obj in _public(package):
        if not (inspect.isclass(obj) or callable(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        if len(doc.strip()) < 20:
            undocumented.append(name)
    assert not undocumented, f"public names without a real docstring: {undocumented}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_public_functions_have_type_hints(package: object) -> None:
    missing = []
    for name, obj in _public(package):
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            if sig.return_annotation is inspect.Signature.empty and not any(
                p.annotation is not inspect.Parameter.empty for p in sig.parameters.values()
            ):
                missing.append(name)
    assert not missing, f"public functions without type hints: {missing}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_no_two_modules_export_the_same_name(package: object) -> None:
    """A clash between two private modules would silently shadow a name."""
    seen: dict[str, str] = {}
    clashes = []
    for modname, mod in _private_modules(package).items():
        for name in getattr(mod, "__all__", []):
            if name in seen:
                clashes.append(f"{name}: {seen[name]} and {modname}")
            seen[name] = modname
    assert not clashes, f"names exported by two modules: {clashes}"
    # and each name resolves to the object of the module that exports it
    for name, modname in seen.items():
        assert getattr(package, name) is getattr(getattr(package, modname), name)


def test_core_is_small_and_re_exported_explicitly() -> None:
    """The top level holds the core only, each name re-exported as ``from ._x import X as X``."""
    import ast
    from pathlib import Path

    core = list(ascentjax.__all__)
    assert len(core) <= 45, f"{len(core)} core names: {core}"
    for package in PACKAGES:
        tree = ast.parse(Path(package.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    assert alias.name != "*", f"{package.__name__}: star import"
                    if node.module:  # from ._x import Name as Name
                        assert alias.asname == alias.name, (package.__name__, alias.name)


def test_theory_annotations_resolve_and_say_something() -> None:
    """Every public theory function's hints resolve (jaxtyping shapes included), no bare Any."""
    import typing

    for name, obj in _public(ascentjax.theory):
        if not inspect.isfunction(obj):
            continue
        hints = typing.get_type_hints(obj)
        assert "return" in hints, name
        bare = [p for p, h in hints.items() if h is typing.Any]
        assert not bare, f"{name}: bare Any for {bare}"


def test_theory_return_values_match_their_jaxtyping_annotations() -> None:
    """isinstance against the annotated jaxtyping type: dtype and (named) shape agree."""
    import typing

    import jax.numpy as jnp

    th = ascentjax.theory
    one = ascentjax.OneCoordinate(jnp.array([0.05, 0.2]), 0.01, 5.0, 100.0, 10.0)
    block = ascentjax.Block(jnp.array([0.5, 0.8]), 0.0, 0.01)
    calls = [
        (th.lemma1_bound, (jnp.array([0.1, 0.2]), 10, 10)),
        (th.tail_frequency, (jnp.array([0.0, 0.1, 0.3]), jnp.array([0.05, 0.2]))),
        (th.stationary_margin, (jnp.array([1.0, 2.0]),)),
        (th.lemma4_bound, (one,)),
        (th.lemma5_bound, (one,)),
        (th.descent_stability_limit, (one,)),
        (th.lemma9_threshold, (block,)),
        (th.lemma8_nonexistence_alpha, (block,)),
        (th.da_step, (one, jnp.ones(2), 0.5)),
        (th.da_orbit, (one, 1.0)),
    ]
    for fn, args in calls:
        hint = typing.get_type_hints(fn)["return"]
        out = fn(*args)
        assert isinstance(out, hint), (fn.__name__, hint, jnp.shape(out), out.dtype)
