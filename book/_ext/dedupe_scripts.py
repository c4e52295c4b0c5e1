"""Sphinx extension of the book: each page includes every script once, and only notebook
pages get the launch (Colab) button.

sphinx-thebe and sphinx-togglebutton (which Jupyter Book 1 always loads) register their inline
configuration scripts both in the application's registry and on the builder, once with the
file name ``None`` and once with ``""``, so Sphinx's own de-duplication misses them and every
page includes them twice; the second ``const THEBE_JS_URL`` then throws a page error. This
drops the repeated scripts, told apart by file name and attributes (an inline script's body
is one of them).
"""

from __future__ import annotations


def _key(js) -> tuple:
    attributes = getattr(js, "attributes", {}) or {}
    return (getattr(js, "filename", None) or "", tuple(sorted(attributes.items())))


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = _key(js)
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


def _launch_only_notebooks(app, pagename, templatename, context, doctree) -> None:
    """Colab opens notebooks only: the reference pages (MyST Markdown that executes code) get no
    launch button, whose link would point Colab at a ``.md`` file."""
    if context.get("page_source_suffix") == ".ipynb":
        return
    buttons = context.get("header_buttons")
    if buttons:
        buttons[:] = [b for b in buttons if b.get("label") != "launch-buttons"]


def setup(app):
    # First of the page-context handlers: Sphinx stops at the first one that returns a value.
    app.connect("html-page-context", _dedupe, priority=100)
    # After sphinx-book-theme has added its header buttons (priority 501).
    app.connect("html-page-context", _launch_only_notebooks, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
