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
    _check_rendered_text(site)
    _check_figures(site)


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

    html_text = "".join(
        p.read_text(encoding="utf-8") for p in sorted((built_site / "api").glob("*.html"))
    )
    public = [f"ascentjax.{n}" for n in ascentjax.__all__]
    public += [f"ascentjax.theory.{n}" for n in ascentjax.theory.__all__]
    missing = [n for n in public if f'id="{n}"' not in html_text]
    assert not missing, f"public names missing from the API reference: {missing}"
    # the array type alias is shown by name, not as its expanded union
    assert "ndarray | bool" not in html_text


def _check_figures(built_site: Path) -> None:
    """Every page that draws a figure when it is built shows it (whatever MPLBACKEND)."""
    drawn = []
    for src in sorted(DOCS.rglob("*.md")):
        text = src.read_text(encoding="utf-8")
        if "{code-cell}" in text and ("subplots(" in text or "Image(" in text):
            drawn.append(src.relative_to(DOCS).with_suffix(".html"))
    assert drawn, "no page draws a figure"
    missing = [str(p) for p in drawn if "<img" not in (built_site / p).read_text(encoding="utf-8")]
    assert not missing, f"pages whose figures are missing from the built site: {missing}"


# ----------------------------------------------------------------------------- rendered text
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
_BLOCKS = {
    "p",
    "li",
    "td",
    "th",
    "pre",
    "dt",
    "dd",
    "div",
    "caption",
    "figcaption",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "section",
    "table",
    "ul",
    "ol",
}
_RAW_TABLE = re.compile(r"\|\s*:?-{3,}:?\s*\|")  # a Markdown table's |---| row
_RAW_HEADING = re.compile(r"(?:^|\n)\s*#{2,6} \S")
_RAW_TEX = re.compile(
    r"\$|\\(?:frac|tfrac|dfrac|mathrm|mathbf|lvert|rvert|varepsilon|lambda|sqrt)\b"
)


class _Visible(html.parser.HTMLParser):
    """The text a reader sees, per block, outside math, source code, scripts and styles.

    Executed cells' *outputs* are kept (a raw table printed there is as unreadable as one
    in the prose); their *inputs* and every other code block are skipped.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []  # tag, skipped subtree, in an output
        self.buffers: list[list[str]] = [[]]
        self.blocks: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip, _ in self.stack)

    def _in_output(self) -> bool:
        return any(out for _, _, out in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        in_output = self._in_output() or "cell_output" in classes
        skip = (
            tag in ("script", "style", "code", "kbd", "samp")
            or "math" in classes
            or "cell_input" in classes
            or (not in_output and (tag == "pre" or any(c.startswith("highlight") for c in classes)))
        )
        self.stack.append((tag, skip, in_output))
        if tag in _BLOCKS:
            self.buffers.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        while self.stack:
            top, _, _ = self.stack.pop()
            if top in _BLOCKS:
                self.blocks.append("".join(self.buffers.pop()))
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        self.buffers[-1].append(" " if self._skipping() else data)


def _check_rendered_text(built_site: Path) -> None:
    """No raw Markdown tables or headings and no raw TeX outside math on any page."""
    problems = []
    for page in sorted(built_site.rglob("*.html")):
        rel = page.relative_to(built_site)
        if rel.parts[0] in ("_static", "_sources", "_images", "_modules") or rel.name in (
            "genindex.html",
            "search.html",
        ):
            continue
        parser = _Visible()
        parser.feed(page.read_text(encoding="utf-8"))
        for block in parser.blocks:
            for what, pattern in (
                ("raw Markdown table", _RAW_TABLE),
                ("raw Markdown heading", _RAW_HEADING),
                ("raw TeX or $ outside math", _RAW_TEX),
            ):
                m = pattern.search(block)
                if m:
                    lo = max(0, m.start() - 60)
                    snippet = " ".join(block[lo : m.end() + 60].split())
                    problems.append(f"{rel}: {what}: ...{snippet}...")
    assert not problems, "unrendered text in the built site:\n" + "\n".join(sorted(set(problems)))
