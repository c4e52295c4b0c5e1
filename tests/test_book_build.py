"""The book: it builds with no warnings, renders offline in a real browser, links to Colab and
the repository correctly, and its chapter notebooks are committed with outputs stripped.

The ``slow`` tests build the book once per session (``jupyter-book build . --all -W``) into
``_build/html``; with ``L2BOOK_BUILT=1`` they reuse an existing build (``make book`` first, whose
log ``_build/book-build.log`` is then checked for warnings too). The notebook and toc checks are
fast and need no build.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from browser import HTML_ROOT, REPO, open_page

from l2lib import claims as claims_lib
from l2lib.paper import overview

CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
BUILD_LOG = REPO / "_build" / "book-build.log"
PLANNED_FIRST_NOTEBOOK = "book/ch1_timescale.ipynb"

# Lines of the build log that contain WARNING/ERROR but are harmless: (why, regex on the line).
ALLOWED_LOG_LINES: tuple[tuple[str, str], ...] = (
    # ipykernel >= 7 prints this when jupyter-cache starts a kernel for notebook execution: the
    # kernel talks to its client over loopback TCP on this machine only.
    (
        "ipykernel: local kernel uses TCP without encryption",
        r"^\[IPKernelApp\] WARNING \| Kernel is running over TCP without encryption\.",
    ),
)
# CDN hosts the book must not load plotly.js, require.js, the widget manager or MathJax from.
CDN_PATTERNS = (
    r"cdn\.plot\.ly",
    r"cdnjs\.cloudflare\.com/ajax/libs/require\.js",
    r"cdn\.jsdelivr\.net/npm/@jupyter-widgets",
    r"unpkg\.com/@jupyter-widgets",
    r"cdn\.jsdelivr\.net/npm/mathjax",
    r"cdnjs\.cloudflare\.com/ajax/libs/mathjax",
    r"cdn\.mathjax\.org",
)
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


# ---------------------------------------------------------------------------------------------
# The table of contents


def toc_docnames(toc: dict = TOC) -> list[str]:
    """Every document of the toc (root first), as Sphinx docnames like ``book/intro``."""
    names = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                names.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    for key in ("parts", "chapters", "sections"):
        walk(toc.get(key, []))
    return names


def source_of(docname: str) -> Path:
    """The source file of a toc entry (``.md`` or ``.ipynb``); exactly one must exist."""
    candidates = [REPO / f"{docname}{ext}" for ext in (".md", ".ipynb")]
    found = [c for c in candidates if c.is_file()]
    assert len(found) == 1, (
        f"_toc.yml entry {docname!r}: expected one of {candidates}, found {found}"
    )
    return found[0]


def toc_notebooks() -> list[str]:
    return [d for d in toc_docnames() if (REPO / f"{d}.ipynb").is_file()]


def expected_colab_url(docname: str) -> str:
    """The Colab link sphinx-book-theme should print for a notebook page, from _config.yml."""
    repo_url = CONFIG["repository"]["url"].rstrip("/")
    org, repo = urlsplit(repo_url).path.strip("/").split("/")[:2]
    branch = CONFIG["repository"].get("branch", "main")
    prefix = CONFIG["repository"].get("path_to_book", "").strip("/")
    path = f"{prefix}/{docname}.ipynb" if prefix else f"{docname}.ipynb"
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    return f"{colab}/github/{org}/{repo}/blob/{branch}/{path}"


def test_toc_entries_exist() -> None:
    docs = toc_docnames()
    assert docs[0] == "book/intro"
    assert "book/conventions" in docs
    for doc in docs:
        source_of(doc)


def test_repository_paths_resolve() -> None:
    """path_to_book + docname must be the file's path in the repository (Colab opens it)."""
    prefix = CONFIG["repository"].get("path_to_book", "").strip("/")
    for doc in toc_docnames():
        rel = source_of(doc).relative_to(REPO).as_posix()
        assert (f"{prefix}/{doc}" if prefix else doc) == rel.rsplit(".", 1)[0]
    url = expected_colab_url("book/ch1_timescale")
    assert url.endswith(f"/blob/main/{PLANNED_FIRST_NOTEBOOK}"), url


def test_every_book_notebook_is_in_toc() -> None:
    """only_build_toc_files drops unlisted pages silently: a chapter must be in _toc.yml."""
    listed = set(toc_notebooks())
    on_disk = {
        p.relative_to(REPO).with_suffix("").as_posix()
        for p in (REPO / "book").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and "runs" not in p.relative_to(REPO / "book").parts
    }
    assert on_disk <= listed, f"notebooks missing from _toc.yml: {sorted(on_disk - listed)}"


# ---------------------------------------------------------------------------------------------
# Notebooks are committed with outputs stripped


def unstripped(nb: dict) -> list[str]:
    """Why a notebook (parsed JSON) is not stripped; empty if it is."""
    problems = []
    if "widgets" in nb.get("metadata", {}):
        problems.append("notebook metadata holds saved widget state ('widgets')")
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {i} has {len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i} has execution_count {cell['execution_count']}")
        timing = {"execution", "ExecuteTime"} & set(cell.get("metadata", {}))
        if timing:
            problems.append(f"cell {i} has execution timing metadata {sorted(timing)}")
    return problems


def book_notebooks() -> list[Path]:
    found = {p for p in (REPO / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts}
    found |= {REPO / f"{d}.ipynb" for d in toc_notebooks()}
    return sorted(found)


def test_stripped_check_detects_outputs() -> None:
    """The check below is not vacuous: it flags each kind of leftover."""
    cell = {
        "cell_type": "code",
        "source": "1",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
    }
    clean = {"metadata": {}, "cells": [dict(cell), {"cell_type": "markdown", "source": "x"}]}
    assert unstripped(clean) == []
    dirty = {
        "metadata": {"widgets": {}},
        "cells": [
            {**cell, "outputs": [{"output_type": "stream", "text": "1"}]},
            {**cell, "execution_count": 3},
            {**cell, "metadata": {"execution": {"iopub.execute_input": "..."}}},
        ],
    }
    assert len(unstripped(dirty)) == 4


@pytest.mark.parametrize("path", book_notebooks() or [None], ids=lambda p: str(p and p.name))
def test_notebooks_committed_stripped(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"no chapter notebook yet (first planned: {PLANNED_FIRST_NOTEBOOK})")
    nb = json.loads(path.read_text())
    problems = unstripped(nb)
    assert not problems, f"{path.relative_to(REPO)} is not stripped: {problems}"


# ---------------------------------------------------------------------------------------------
# The built book (slow)


# ipykernel 7.4 can log this traceback while a kernel shuts down after its notebook has run
# (the control channel's "idle" status races the closing of the IOPub pipe; ipykernel PR 1518
# fixed the same race in _really_send, not in schedule()). It is dropped only when the
# traceback is exactly that one: ZMQStream callback -> ... -> ENOTSOCK.
KERNEL_SHUTDOWN_RACE = re.compile(
    r"^ERROR:tornado\.general:Uncaught exception in ZMQStream callback\n"
    r"Traceback \(most recent call last\):\n"
    r"(?:  .*\n)+?"
    r"zmq\.error\.ZMQError: Socket operation on non-socket$",
    re.MULTILINE,
)


def unexpected_log_lines(log: str) -> list[str]:
    """WARNING/ERROR lines of a build log that are not on the allow-list."""
    bad = []
    log = re.sub(r"\x1b\[[0-9;]*m", "", log)
    log = KERNEL_SHUTDOWN_RACE.sub(
        lambda m: "" if "_publish_status" in m.group(0) else m.group(0), log
    )
    for line in log.splitlines():
        if re.search(r"\b(WARNING|ERROR)\b", line) and not any(
            re.search(pattern, line) for _, pattern in ALLOWED_LOG_LINES
        ):
            bad.append(line)
    return bad


def _build() -> str:
    # As in `make book`: chapters read book/runs and must never train at build time.
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "L2BOOK_BUILD": "1",
        "L2LIB_FORBID_TRAINING": "1",
    }
    subprocess.run(["bash", "book/vendor.sh"], cwd=REPO, env=env, check=True)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jupyter_book), "build", ".", "--all", "--warningiserror", "--keep-going"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    BUILD_LOG.parent.mkdir(exist_ok=True)
    BUILD_LOG.write_text(log)
    assert proc.returncode == 0, f"book build failed (log: {BUILD_LOG}):\n{log[-5000:]}"
    return log


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book once (or reuse it with L2BOOK_BUILT=1); return ``_build/html``."""
    if os.environ.get("L2BOOK_BUILT") == "1":
        assert (HTML_ROOT / "index.html").is_file(), "L2BOOK_BUILT=1 but no _build/html: make book"
    else:
        _build()
    return HTML_ROOT


def page_of(html: Path, docname: str) -> Path:
    return html / f"{docname}.html"


@pytest.mark.slow
def test_build_log_has_no_warnings(built_book: Path) -> None:
    # searchindex.js is rewritten by every build: a log older than it belongs to an older build.
    built_at = (built_book / "searchindex.js").stat().st_mtime
    if not BUILD_LOG.is_file() or BUILD_LOG.stat().st_mtime < built_at:
        pytest.skip(f"no {BUILD_LOG.relative_to(REPO)} from the build that made _build/html")
    bad = unexpected_log_lines(BUILD_LOG.read_text())
    assert not bad, "warnings in the book build:\n" + "\n".join(bad)


def test_log_filter_drops_only_the_kernel_shutdown_race() -> None:
    race = (
        "ERROR:tornado.general:Uncaught exception in ZMQStream callback\n"
        "Traceback (most recent call last):\n"
        '  File "kernelbase.py", line 709, in _publish_status\n'
        "    self.session.send(\n"
        "zmq.error.ZMQError: Socket operation on non-socket\n"
    )
    other = race.replace("zmq.error.ZMQError: Socket operation on non-socket", "KeyError: 'x'")
    assert unexpected_log_lines("ok\n" + race + "done\n") == []
    assert unexpected_log_lines(other) == [
        "ERROR:tornado.general:Uncaught exception in ZMQStream callback"
    ]
    assert unexpected_log_lines("x.ipynb: WARNING: skipping unknown output mime type") != []


@pytest.mark.slow
def test_every_toc_page_is_built(built_book: Path) -> None:
    for doc in toc_docnames():
        assert page_of(built_book, doc).is_file(), f"{doc} was not built"
    index = (built_book / "index.html").read_text()
    assert "book/intro.html" in index


@pytest.mark.slow
def test_vendored_js_is_served_by_the_book(built_book: Path) -> None:
    import plotly

    static = built_book / "_static"
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (static / "plotly.min.js").read_bytes() == plotly_js.read_bytes()
    for rel in ("widgets/embed-amd.js", "widgets/require.js", "mathjax/tex-mml-chtml.js"):
        assert (static / rel).stat().st_size > 10_000, rel
    intro = page_of(built_book, "book/intro").read_text()
    assert re.search(r'<script src="\.\./_static/plotly\.min\.js(\?v=\w+)?">', intro)
    assert re.search(r'<script [^>]*src="\.\./_static/mathjax/tex-mml-chtml\.js', intro)


@pytest.mark.slow
def test_no_cdn_urls_in_html(built_book: Path) -> None:
    pages = sorted(built_book.rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text()
        for pattern in CDN_PATTERNS:
            assert not re.search(pattern, text), f"{page.relative_to(built_book)}: {pattern}"
        if WIDGET_VIEW_MIME in text:  # pages with widgets load the local manager
            assert "_static/widgets/require.js" in text and "_static/widgets/embed-amd.js" in text


@pytest.mark.slow
def test_repository_button(built_book: Path) -> None:
    intro = page_of(built_book, "book/intro").read_text()
    assert f'href="{CONFIG["repository"]["url"]}"' in intro


@pytest.mark.slow
def test_colab_links_on_notebook_pages(built_book: Path) -> None:
    notebooks = toc_notebooks()
    if not notebooks:
        pytest.skip(
            f"no notebook chapter in _toc.yml yet (first planned: {PLANNED_FIRST_NOTEBOOK})"
        )
    for doc in notebooks:
        html = page_of(built_book, doc).read_text()
        assert f'href="{expected_colab_url(doc)}"' in html, f"{doc}: no Colab link"
    # Colab opens only notebooks: the other pages (Markdown, some of which execute code) get no
    # launch button.
    for doc in set(toc_docnames()) - set(notebooks):
        html = page_of(built_book, doc).read_text()
        assert "colab.research.google.com" not in html, f"{doc}: a Colab link to a non-notebook"


@pytest.mark.slow
def test_intro_renders_math_offline(built_book: Path) -> None:
    with open_page(page_of(built_book, "book/intro"), root=built_book) as (page, errors, blocked):
        page.wait_for_selector("mjx-container")
        assert page.evaluate("() => window.MathJax.version").startswith("3.")
        assert page.evaluate("() => typeof window.Plotly") == "object"
        assert page.locator("mjx-container").count() >= 10
        assert page.locator("mjx-merror").count() == 0
        assert not errors, errors.errors
        assert not blocked, blocked


@pytest.mark.slow
@pytest.mark.parametrize("docname", toc_docnames())
def test_page_renders_offline(built_book: Path, docname: str) -> None:
    """Every page renders with no network: math typeset, plotly figures drawn, widgets shown."""
    path = page_of(built_book, docname)
    text = path.read_text()
    with open_page(path, root=built_book) as (page, errors, blocked):
        if 'class="math' in text:
            # attached, not visible: math in a heading is also in the (collapsed) page TOC
            page.wait_for_selector("mjx-container", state="attached")
            assert page.locator("mjx-merror").count() == 0
        figures = text.count('class="plotly-graph-div"')
        if figures:
            page.wait_for_function(
                "n => document.querySelectorAll('.plotly-graph-div .main-svg').length >= n",
                arg=figures,
            )
        if WIDGET_VIEW_MIME in text:
            page.wait_for_selector(".jupyter-widgets, .widget-container, .widget-box")
        assert not errors, errors.errors
        assert not blocked, blocked


@pytest.mark.slow
def test_intro_opens_with_the_claim_map_of_the_cached_runs(built_book: Path) -> None:

    intro = page_of(built_book, "book/intro").read_text()
    start = intro.index("<th>the paper's claim</th>")
    table = intro[start : intro.index("</table>", start)]
    rows = overview.claim_map(claims_lib.run())
    assert table.count("<tr>") == len(rows) + 1
    for row in rows:
        assert row.claim.text.replace("'", "&#x27;") in table or row.claim.text in table
    assert intro.index("The claim map") < intro.index("What the paper reports")


@pytest.mark.slow
def test_every_page_includes_each_script_once(built_book: Path) -> None:
    """Repeated inline scripts (sphinx-thebe's `const THEBE_JS_URL`) throw a page error; the
    book's dedupe_scripts extension leaves one of each."""
    for docname in toc_docnames():
        html = page_of(built_book, docname).read_text()
        scripts = re.findall(r"<script[^>]*>.*?</script>", html, flags=re.S)
        inline = [s for s in scripts if "src=" not in s.split(">", 1)[0] and len(s) > 20]
        dupes = {s[:80] for s in inline if inline.count(s) > 1 and "plotly" not in s[:200]}
        assert not dupes, (docname, sorted(dupes))
