"""The public API: every public module lists its names in ``__all__`` (what the API reference
documents), and each has a page in the book's reference."""

from __future__ import annotations

import importlib
import inspect
import pathlib

import pytest

import l2lib

REPO = pathlib.Path(__file__).resolve().parents[1]
#: The modules a researcher imports (``book/api/``); the book's own modules are not among them.
PUBLIC = (
    "anymodel",
    "config",
    "data",
    "models",
    "train",
    "autol2",
    "store",
    "registry",
    "claims",
    "analysis",
    "theory",
    "figures",
    "widgets",
)


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_function_and_class_is_in_all(name):
    mod = importlib.import_module(f"l2lib.{name}")
    assert hasattr(mod, "__all__"), f"l2lib.{name} has no __all__"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"l2lib.{name}.__all__ names what the module lacks: {missing}"
    defined = [
        n
        for n, v in vars(mod).items()
        if not n.startswith("_")
        and (inspect.isfunction(v) or inspect.isclass(v))
        and v.__module__ == mod.__name__
    ]
    unlisted = sorted(set(defined) - set(mod.__all__))
    assert not unlisted, f"add {unlisted} to l2lib.{name}.__all__ (or make them private)"
    assert len(mod.__all__) == len(set(mod.__all__))


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_module_has_a_reference_page(name):
    page = REPO / "book" / "api" / f"{name}.md"
    assert f".. automodule:: l2lib.{name}" in page.read_text()
    assert f"book/api/{name}" in (REPO / "_toc.yml").read_text()


def test_the_version_is_one_number_everywhere():
    from importlib import metadata

    from l2lib import store

    assert l2lib.__version__ == metadata.version("l2lib")
    assert store.environment()["l2lib_version"] == l2lib.__version__
