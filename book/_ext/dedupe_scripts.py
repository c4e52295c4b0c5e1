"""Sphinx extension of the book: each page includes every script once.

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


def setup(app):
    # First of the page-context handlers: Sphinx stops at the first one that returns a value.
    app.connect("html-page-context", _dedupe, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
