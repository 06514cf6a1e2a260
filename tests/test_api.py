"""The public API: flat, documented, and each name really public."""

from __future__ import annotations

import inspect

import pytest

import ascentjax


def _private_modules() -> dict[str, object]:
    return {
        n: getattr(ascentjax, n)
        for n in sorted(vars(ascentjax))
        if n.startswith("_") and not n.startswith("__") and inspect.ismodule(getattr(ascentjax, n))
    }


def test_all_is_sorted_unique_and_resolves() -> None:
    names = list(ascentjax.__all__)
    assert all(isinstance(n, str) for n in names)
    assert names == sorted(names), [a for a, b in zip(names, sorted(names)) if a != b]
    dup = sorted({n for n in names if names.count(n) > 1})
    assert not dup, f"names listed twice in __all__: {dup}"
    for name in names:
        assert hasattr(ascentjax, name), name
        assert not name.startswith("_"), name
    # nothing public is left out of __all__
    extra = [n for n in dir(ascentjax) if not n.startswith("_") and n not in names]
    assert not extra, f"public attributes missing from __all__: {extra}"


def test_module_all_lists_are_unique_and_make_up_the_flat_namespace() -> None:
    """Each private module lists its names once; the flat ``__all__`` is exactly their union
    (a duplicate inside one module would be hidden by the set that builds the flat list)."""
    union: set[str] = set()
    for modname, mod in _private_modules().items():
        names = list(getattr(mod, "__all__", []))
        dup = sorted({n for n in names if names.count(n) > 1})
        assert not dup, f"{modname}.__all__ lists {dup} twice"
        union |= set(names)
    subpackages = {n for n in ascentjax.__all__ if inspect.ismodule(getattr(ascentjax, n))}
    assert subpackages == {"nets", "toy"}
    assert union | subpackages == set(ascentjax.__all__)


@pytest.mark.parametrize("sub", ["nets", "toy"])
def test_subpackage_exports_explicitly_with_docs_and_hints(sub: str) -> None:
    package = getattr(ascentjax, sub)
    names = list(package.__all__)
    assert names == sorted(names) and len(set(names)) == len(names)
    public = {n for n in dir(package) if not n.startswith("_")}
    assert public == set(names), public ^ set(names)
    for name in names:
        obj = getattr(package, name)
        assert obj.__module__.startswith(f"ascentjax.{sub}._"), name
        assert len((inspect.getdoc(obj) or "").strip()) >= 20, name
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, name


def test_every_public_name_has_a_docstring() -> None:
    undocumented = []
    for name in ascentjax.__all__:
        obj = getattr(ascentjax, name)
        if not (inspect.isclass(obj) or callable(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        if len(doc.strip()) < 20:
            undocumented.append(name)
    assert not undocumented, f"public names without a real docstring: {undocumented}"


def test_public_functions_have_type_hints() -> None:
    missing = []
    for name in ascentjax.__all__:
        obj = getattr(ascentjax, name)
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            if sig.return_annotation is inspect.Signature.empty and not any(
                p.annotation is not inspect.Parameter.empty for p in sig.parameters.values()
            ):
                missing.append(name)
    assert not missing, f"public functions without type hints: {missing}"


def test_no_two_modules_export_the_same_name() -> None:
    """The flat namespace is built by star imports: a clash would silently shadow a name."""
    seen: dict[str, str] = {}
    clashes = []
    for modname, mod in _private_modules().items():
        for name in getattr(mod, "__all__", []):
            if name in seen:
                clashes.append(f"{name}: {seen[name]} and {modname}")
            seen[name] = modname
    assert not clashes, f"names exported by two modules: {clashes}"
    # and each name resolves to the object of the module that exports it
    for name, modname in seen.items():
        assert getattr(ascentjax, name) is getattr(getattr(ascentjax, modname), name)
