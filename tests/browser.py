"""Open built book pages in a real, offline, headless browser (a helper for the tests).

:func:`open_page` serves ``_build/html`` over ``http.server`` on 127.0.0.1 (a free port, in a
thread), opens one page in Debian's Chromium through Playwright, and blocks every request that
does not go to that server: the book must render with no network. It yields the page, the
console/page errors and the blocked URLs.

Playwright never downloads a browser here: it drives the system Chromium (``apt-get install
chromium``). :func:`chromium_or_skip` skips a test when Chromium is missing, except on CI
(``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
HTML_ROOT = REPO / "_build" / "html"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Console/page errors that appear on every JB1 page and do not affect rendering. Each pattern
# is anchored on the exact message, so a new error of the same family still fails the tests.
HARMLESS_ERRORS: tuple[tuple[str, str], ...] = (
    # @jupyter-widgets/html-manager 1.0.6 calls the MathJax 2 API (MathJax.Hub.Queue) to
    # typeset widget labels; the book serves MathJax 3, which has no Hub. Widgets render.
    (
        "widget manager calls the MathJax 2 API under MathJax 3",
        r"^(TypeError: )?Cannot read properties of undefined \(reading 'Queue'\)$",
    ),
)


@dataclass
class PageErrors:
    """What went wrong in the page: kept errors, filtered (known harmless) ones."""

    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        text = message.strip()
        first_line = text.splitlines()[0] if text else text
        if any(re.match(pattern, first_line) for _, pattern in HARMLESS_ERRORS):
            self.ignored.append(text)
        else:
            self.errors.append(text)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __iter__(self) -> Iterator[str]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    def __repr__(self) -> str:
        return f"PageErrors(errors={self.errors!r}, ignored={len(self.ignored)})"


def chromium_or_skip() -> str:
    """Return the path of the system Chromium; skip the test if absent (fail when CI=true)."""
    for candidate in (*CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    message = "Chromium not installed: apt-get install chromium (CI installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 at a free port in a daemon thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1"


def _wait_quiet(page, inflight: set[object], timeout_ms: float, quiet_ms: float = 500) -> None:
    """Wait until no request has been in flight for ``quiet_ms``.

    Chromium's own "networkidle" lifecycle event is not always emitted for a page served from
    127.0.0.1 that has finished loading (seen on the bibliography page), so the requests are
    counted here instead.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = time.monotonic()
    while True:
        now = time.monotonic()
        if inflight:
            quiet_since = now
        elif now - quiet_since >= quiet_ms / 1000:
            return
        if now > deadline:
            urls = sorted(getattr(r, "url", "?") for r in inflight)
            raise TimeoutError(f"requests still in flight after {timeout_ms:.0f} ms: {urls}")
        page.wait_for_timeout(50)


@contextlib.contextmanager
def open_page(
    html_path: str | os.PathLike[str],
    root: str | os.PathLike[str] = HTML_ROOT,
    timeout_ms: float = 30_000,
    viewport: dict[str, int] | None = None,
):
    """Open one built page in headless Chromium with every non-local request blocked.

    Args:
      html_path: the page, absolute or relative to ``root`` (e.g. ``"book/intro.html"``).
      root: the folder served (the built HTML, ``_build/html`` by default).
      timeout_ms: Playwright's default timeout for navigation and waits.
      viewport: ``{"width": ..., "height": ...}`` in CSS pixels from the start (the page is
        laid out at that size before any script runs); Playwright's 1280×720 if ``None``.

    Yields:
      ``(page, errors, blocked_requests)``: the Playwright page after ``load`` and network
      idle; a :class:`PageErrors` (console errors, uncaught exceptions and HTTP error
      responses, known harmless ones filtered, see ``HARMLESS_ERRORS``); and the list of URLs that were blocked because they
      left 127.0.0.1. Both lists keep growing while the page is used.
    """
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    root = Path(root).resolve()
    page_path = Path(html_path)
    page_path = page_path.resolve() if page_path.is_absolute() else (root / page_path).resolve()
    if not page_path.is_file():
        raise FileNotFoundError(f"{page_path} does not exist: build the book first")
    rel = page_path.relative_to(root).as_posix()

    errors = PageErrors()
    blocked: list[str] = []

    def route(route, request) -> None:
        if _is_local(request.url):
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort("blockedbyclient")

    with serve(root) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(
                service_workers="block", **({"viewport": viewport} if viewport else {})
            )
            context.set_default_timeout(timeout_ms)
            context.route("**/*", route)
            page = context.new_page()
            page.on("console", lambda msg: msg.type == "error" and errors.add(msg.text))
            page.on("pageerror", lambda exc: errors.add(f"{exc.name}: {exc.message}"))
            # Names the URL that a bare "Failed to load resource" console error leaves out.
            page.on(
                "response", lambda r: r.status >= 400 and errors.add(f"HTTP {r.status} {r.url}")
            )
            inflight: set[object] = set()
            page.on("request", lambda r: inflight.add(r))
            page.on("requestfinished", lambda r: inflight.discard(r))
            page.on("requestfailed", lambda r: inflight.discard(r))
            page.goto(f"{base}/{rel}", wait_until="load")
            _wait_quiet(page, inflight, timeout_ms)
            yield page, errors, blocked
        finally:
            browser.close()
