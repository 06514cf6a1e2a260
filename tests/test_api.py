"""The public API: flat, documented, and each name really public."""

from __future__ import annotations

import inspect

import ascentjax


def test_all_is_sorted_unique_and_resolves() -> None:
    names = ascentjax.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(ascentjax, name), name
        assert not name.startswith("_"), name


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
    for modname in sorted(
        n for n in vars(ascentjax) if n.startswith("_") and not n.startswith("__")
    ):
        mod = getattr(ascentjax, modname)
        for name in getattr(mod, "__all__", []):
            if name in seen:
                clashes.append(f"{name}: {seen[name]} and {modname}")
            seen[name] = modname
    assert not clashes, f"names exported by two modules: {clashes}"
    # and each name resolves to the object of the module that exports it
    for name, modname in seen.items():
        assert getattr(ascentjax, name) is getattr(getattr(ascentjax, modname), name)
