"""The documentation site: built warning-free, snippets run, internal links resolve.

The build executes every myst-nb page (``{code-cell}`` blocks), so every figure on a
study page is regenerated from the code here. Plain ```` ```python ```` blocks in the
docs and README are not executed by Sphinx; :func:`test_python_snippets_run` runs each
of them in a fresh interpreter.
"""

from __future__ import annotations

import html.parser
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _snippet_files() -> list[Path]:
    files = [ROOT / "README.md"]
    files += sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
    return files


_FENCE = re.compile(r"^(```+)python[ \t]*\n(.*?)^\1[ \t]*$", re.S | re.M)


def _python_snippets() -> list[tuple[str, str]]:
    out = []
    for path in _snippet_files():
        text = path.read_text(encoding="utf-8")
        for i, match in enumerate(_FENCE.finditer(text)):
            out.append((f"{path.relative_to(ROOT)}#{i}", match.group(2)))
    return out


SNIPPETS = _python_snippets()


@pytest.mark.parametrize("where,code", SNIPPETS, ids=[w for w, _ in SNIPPETS] or None)
def test_python_snippets_run(where: str, code: str, tmp_path: Path) -> None:
    """Every ```python block shown to users runs as-is (in a scratch directory)."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"snippet {where} failed:\n{proc.stdout}\n{proc.stderr}"


def _build_site(out: Path) -> Path:
    """``sphinx-build -W --keep-going -b html`` into ``out``; fail on any warning."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(out / ".doctrees"),
            str(DOCS),
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, (
        f"sphinx-build failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-20000:]}"
    )
    return out


@pytest.mark.slow
def test_docs_site(tmp_path: Path) -> None:
    """One build (it executes every page), then the checks on the built site.

    A single test so that parallel workers never build the site twice.
    """
    site = _build_site(tmp_path / "html")
    assert (site / "index.html").is_file()
    _check_internal_links(site)
    _check_api_reference(site)


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for attr in ("href", "src"):
            if tag in ("a", "img", "link", "script") and a.get(attr):
                self.hrefs.append(a[attr])


def _check_internal_links(built_site: Path) -> None:
    """Every relative href/src in the built site points at an existing file (and anchor)."""
    pages: dict[Path, _Links] = {}
    for page in built_site.rglob("*.html"):
        if page.relative_to(built_site).parts[0] in ("_static", "_sources", "_images"):
            continue  # theme assets (Jinja macro templates), not pages of the site
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        pages[page.resolve()] = parser
    broken = []
    for page, parser in pages.items():
        for href in parser.hrefs:
            parts = urllib.parse.urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "data:", "javascript:")):
                continue
            target = (
                (page.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else page
            )
            if not target.exists():
                broken.append(f"{page.relative_to(built_site)} -> {href}")
                continue
            if parts.fragment and target.suffix == ".html" and target in pages:
                if parts.fragment not in pages[target].ids:
                    broken.append(f"{page.relative_to(built_site)} -> {href} (missing anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(broken))


def _check_api_reference(built_site: Path) -> None:
    import ascentjax

    html_text = (built_site / "api" / "reference.html").read_text(encoding="utf-8")
    missing = [n for n in ascentjax.__all__ if f'id="ascentjax.{n}"' not in html_text]
    assert not missing, f"public names missing from the API reference: {missing}"
