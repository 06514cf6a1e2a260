"""Sphinx configuration for the ascentjax documentation.

Build (warnings are errors, no network needed):

    sphinx-build -W --keep-going -b html docs docs/_build/html

Pages are MyST Markdown; pages with ``{code-cell}`` blocks are executed by
myst-nb at build time, so every figure on a study page is produced by the code
it documents. The API reference is generated from the packages' ``__all__``.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

from jupyter_client.manager import KernelManager

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

import ascentjax  # noqa: E402

project = "ascentjax"
author = "the ascentjax developers"
copyright = "2026, the ascentjax developers"
release = ascentjax.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

# Intersphinx fetches inventories over the network, which the CI machine does
# not have; enable it with ASCENTJAX_DOCS_INTERSPHINX=1 where a network exists.
if os.environ.get("ASCENTJAX_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "jax": ("https://docs.jax.dev/en/latest/", None),
        "optax": ("https://optax.readthedocs.io/en/latest/", None),
    }

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Executed pages: run every time (the configurations are small), fail the build on error.
nb_execution_mode = "force"
# Markdown that a cell displays (tables, math) is parsed like the pages themselves.
nb_render_markdown_format = "myst"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# Executed pages show their matplotlib figures inline whatever backend the build itself was
# started with (with MPLBACKEND=Agg inherited, every plotting cell would lose its figure).
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
# The executed pages' kernels get CurveZMQ keys from the kernel manager (their kernelspec
# declares support), so kernel and build talk encrypted and the kernel has nothing to warn
# about ("Kernel is running over TCP without encryption", once per page).
KernelManager.transport_encryption.default_value = "auto"

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True
autodoc_typehints = "description"
# Show the short names of jax's array type aliases, not their expanded unions.
autodoc_type_aliases = {"ArrayLike": "ArrayLike", "DTypeLike": "DTypeLike"}
autodoc_member_order = "bysource"

html_theme = "sphinx_book_theme"
html_title = "ascentjax"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
# MathJax 3.2.2 (Apache-2.0, docs/_static/mathjax/LICENSE) is shipped with the docs so that
# the math renders without a network, in the self-contained SVG build.
mathjax_path = "mathjax/tex-svg.js"
html_theme_options = {"show_toc_level": 2}


# ----------------------------------------------------------------------------- API reference
# One page per (sub)package; inside a page, one section per private module.
_PACKAGES = {
    "core": ("ascentjax", "Core"),
    "theory": ("ascentjax.theory", "ascentjax.theory"),
    "toy": ("ascentjax.toy", "ascentjax.toy"),
    "nets": ("ascentjax.nets", "ascentjax.nets"),
    "stress": ("ascentjax.stress", "ascentjax.stress"),
}
_GROUP_TITLES = {
    "_lambertw": "Lambert W",
    "_problems": "Problems",
    "_losses": "Losses",
    "_data": "Data",
    "_objectives": "Objectives",
    "_rules": "Unlearning rules",
    "_trajectory": "Trajectories",
    "_sweep": "Sweeps, chunking and sharding",
    "_forget": "Random forget sets",
    "_one_coordinate": "One coordinate",
    "_block": "Cross-dimensional correlation",
    "_dynamics": "Iterative descent-ascent dynamics",
    "_lemma1": "Lemma 1",
    "_problem": "The problem a method sees",
    "_baselines": "Baselines",
    "_settings": "Settings",
    "_suite": "Suite and scorecard",
    "_constants": "Constants",
    "_mia": "Membership inference",
    "_cache": "Ensemble cache",
}


def _summary_line(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return first.replace("|", "\\|")


def _package_page(package: object, title: str, index: list[str]) -> str:
    """The reference page of one package; appends its summary tables to ``index``."""
    modname = package.__name__
    groups: dict[str, list[str]] = {}
    for name in package.__all__:
        obj = getattr(package, name)
        if inspect.ismodule(obj):
            continue
        mod = getattr(obj, "__module__", "") or "_constants"  # tuples of names
        if not mod.startswith("ascentjax"):
            mod = "_constants"
        groups.setdefault(mod.rsplit(".", 1)[-1], []).append(name)
    order = [
        m for m in list(_GROUP_TITLES) + sorted(set(groups) - set(_GROUP_TITLES)) if m in groups
    ]
    index += [title, "-" * len(title), ""]
    lines = [_GENERATED, "", title, "=" * len(title), "", f".. currentmodule:: {modname}", ""]
    for mod in order:
        section = _GROUP_TITLES.get(mod, mod.lstrip("_"))
        index += [f"**{section}**", "", ".. list-table::", "   :widths: 35 65", ""]
        lines += [section, "-" * len(section), ""]
        for name in groups[mod]:
            obj = getattr(package, name)
            role = "class" if inspect.isclass(obj) else "func" if callable(obj) else "data"
            index += [f"   * - :{role}:`~{modname}.{name}`", f"     - {_summary_line(obj)}"]
            if inspect.isclass(obj) and issubclass(obj, tuple) and hasattr(obj, "_fields"):
                # NamedTuples document their fields in the docstring's Attributes section;
                # ``:members:`` would describe every field a second time.
                lines += [f".. autoclass:: {name}", ""]
            elif inspect.isclass(obj):
                lines += [f".. autoclass:: {name}", "   :members:", ""]
            elif callable(obj):
                lines += [f".. autofunction:: {name}", ""]
            else:
                lines += [f".. autodata:: {name}", "   :no-value:", ""]
        index.append("")
    return "\n".join(lines) + "\n"


_GENERATED = ".. This file is generated by docs/conf.py from the packages' __all__; do not edit."


def _write_api_reference() -> None:
    """Write docs/api/: an index of every public name, and one page per (sub)package."""
    import importlib

    packages = {}
    for stem, (modname, title) in _PACKAGES.items():
        try:
            packages[stem] = (importlib.import_module(modname), title)
        except ImportError:
            continue
    index = [
        _GENERATED,
        "",
        "API reference",
        "=============",
        "",
        "The core lives in ``ascentjax``; the theory, the nonconvex toy model and the",
        "neural-network tools are the subpackages ``ascentjax.theory``, ``ascentjax.toy`` and",
        "``ascentjax.nets``. Array arguments typed ``ArrayLike`` accept JAX and NumPy arrays",
        "and Python scalars (``jax.typing.ArrayLike``).",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    index += [f"   {stem}" for stem in packages]
    index.append("")
    pages = {stem: _package_page(pkg, title, index) for stem, (pkg, title) in packages.items()}
    pages["reference"] = "\n".join(index) + "\n"
    (HERE / "api").mkdir(exist_ok=True)
    for stem, text in pages.items():
        target = HERE / "api" / f"{stem}.rst"
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
    # pages generated by an earlier layout of the API (a name that moved to a subpackage)
    # would otherwise be built, fail to import and warn: remove them
    for stale in (HERE / "api").glob("*.rst"):
        if stale.stem not in pages and stale.read_text().startswith(".. This file is generated"):
            stale.unlink()


_write_api_reference()
