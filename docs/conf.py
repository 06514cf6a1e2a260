"""Sphinx configuration for the ascentjax documentation.

Build (warnings are errors, no network needed):

    sphinx-build -W --keep-going -b html docs docs/_build/html

Pages are MyST Markdown; pages with ``{code-cell}`` blocks are executed by
myst-nb at build time, so every figure on a study page is produced by the code
it documents. The API reference is generated from ``ascentjax.__all__``.
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
_GROUP_TITLES = {
    "_lambertw": "Lambert W",
    "_theory1d": "One-coordinate theory",
    "_theory2d": "Cross-dimensional correlation",
    "_losses": "Losses",
    "_data": "Data generators",
    "_objectives": "Objectives",
    "_rules": "Unlearning rules",
    "_trajectory": "Trajectories",
    "_sweep": "Sweeps, chunking and sharding",
    "_dynamics": "Iterative descent-ascent dynamics",
    "_forget": "Random forget sets",
    "_constants": "Constants",
}


def _summary_line(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    return first.replace("|", "\\|")


def _entries(package: object, names: list[str]) -> list[str]:
    """The autodoc directives documenting ``names`` of ``package`` (current module set)."""
    lines: list[str] = []
    for name in names:
        obj = getattr(package, name)
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
    return lines


def _write_api_reference() -> None:
    """Write docs/api/: an index of every public name, and one page per module group."""
    groups: dict[str, list[str]] = {}
    subpackages = [n for n in ascentjax.__all__ if inspect.ismodule(getattr(ascentjax, n))]
    for name in ascentjax.__all__:
        obj = getattr(ascentjax, name)
        if name in subpackages:
            continue
        mod = getattr(obj, "__module__", "") or "_constants"  # tuples of names
        groups.setdefault(mod.rsplit(".", 1)[-1], []).append(name)
    order = [
        m for m in list(_GROUP_TITLES) + sorted(set(groups) - set(_GROUP_TITLES)) if m in groups
    ]
    generated = ".. This file is generated by docs/conf.py from ascentjax.__all__; do not edit."
    index = [
        generated,
        "",
        "API reference",
        "=============",
        "",
        "Every public name is importable from ``ascentjax`` directly. One page per topic;",
        "array arguments typed ``ArrayLike`` accept JAX and NumPy arrays and Python scalars",
        "(``jax.typing.ArrayLike``).",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    index += [f"   {mod.lstrip('_')}" for mod in order]
    index += [f"   {sub}" for sub in subpackages]
    index.append("")
    pages: dict[str, str] = {}
    for mod in order:
        names = groups[mod]
        title = _GROUP_TITLES.get(mod, mod.lstrip("_"))
        index += [title, "-" * len(title), "", ".. list-table::", "   :widths: 35 65", ""]
        for name in names:
            obj = getattr(ascentjax, name)
            role = "class" if inspect.isclass(obj) else "func" if callable(obj) else "data"
            index += [f"   * - :{role}:`~ascentjax.{name}`", f"     - {_summary_line(obj)}"]
        index.append("")
        lines = [generated, "", title, "=" * len(title), "", ".. currentmodule:: ascentjax", ""]
        lines += _entries(ascentjax, names)
        pages[mod.lstrip("_")] = "\n".join(lines) + "\n"
    for sub in subpackages:
        package = getattr(ascentjax, sub)
        title = f"ascentjax.{sub}: {_summary_line(package).rstrip('.')}"
        index += [title, "-" * len(title), "", ".. list-table::", "   :widths: 35 65", ""]
        for name in package.__all__:
            obj = getattr(package, name)
            role = "class" if inspect.isclass(obj) else "func" if callable(obj) else "data"
            index += [f"   * - :{role}:`~ascentjax.{sub}.{name}`", f"     - {_summary_line(obj)}"]
        index.append("")
        head = [generated, "", title, "=" * len(title), "", f".. automodule:: ascentjax.{sub}"]
        head += ["   :no-members:", "", f".. currentmodule:: ascentjax.{sub}", ""]
        pages[sub] = "\n".join(head + _entries(package, package.__all__)) + "\n"
    pages["reference"] = "\n".join(index) + "\n"
    for stem, text in pages.items():
        target = HERE / "api" / f"{stem}.rst"
        if not target.exists() or target.read_text() != text:
            target.write_text(text)


_write_api_reference()
