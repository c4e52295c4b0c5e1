"""l2lib.registry: experiments, artifacts and claims registered by chapter, found through the
installed package's entry points, without the library importing the book."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import numpy as np
import pytest

from l2lib import config, registry


@pytest.fixture
def clean(monkeypatch):
    """A registry holding only what the test registers (the book's entries stay untouched)."""
    for attr, value in (
        ("_EXPERIMENTS", {}),
        ("_CHAPTER", {}),
        ("_ARTIFACTS", {}),
        ("_RETIRED", {}),
        ("_FORMERLY", {}),
        ("_CLAIMS", []),
        ("_loaded", True),
    ):
        monkeypatch.setattr(registry, attr, value)
    return registry


def _tiny() -> config.Experiment:
    return config.ci(grid=config.GridConfig(l2=(1e-2,), learning_rate=(0.1,), seeds=(0,)))


def test_register_get_and_group_by_chapter(clean):
    reg = clean.registrar("ch7")
    reg("ch7_tiny_a", "ci")(_tiny)
    clean.register("ch6_tiny_b", "ci", chapter="ch6")(_tiny)
    cfg = clean.get("ch7_tiny_a", "ci")
    # The registry stamps the name and scale it was asked for on the factory's config.
    assert (cfg.name, cfg.scale) == ("ch7_tiny_a", "ci")
    assert clean.names() == ["ch6_tiny_b", "ch7_tiny_a"]
    assert clean.by_chapter() == {"ch6": ["ch6_tiny_b"], "ch7": ["ch7_tiny_a"]}
    assert clean.chapter_of("ch7_tiny_a") == "ch7" and clean.scales("ch7_tiny_a") == ["ci"]


def test_unknown_names_and_scales_name_the_choices(clean):
    clean.register("ch7_tiny", "ci", chapter="ch7")(_tiny)
    with pytest.raises(ValueError, match="unknown experiment 'nope'; choose one of: ch7_tiny"):
        clean.get("nope")
    with pytest.raises(ValueError, match="has no scale 'paper'; choose one of: ci"):
        clean.get("ch7_tiny", "paper")
    with pytest.raises(ValueError, match="unknown artifact 'nope'"):
        clean.artifact_spec("nope")
    with pytest.raises(ValueError, match="no claims are registered for 'nope'"):
        clean.claims_of("nope")


def test_retired_claims_and_artifacts(clean):
    clean.register("ch7_old", "cpu", chapter="ch7")(_tiny)

    def gen(name, scale, root):
        yield (name, scale)

    clean.register_claims("ch7", "ch7_old", gen)
    clean.retire(["ch7_old"], "cpu")
    assert clean.retired("ch7_old", "cpu") and not clean.retired("ch7_old", "ci")
    assert clean.retired_names("cpu") == frozenset({"ch7_old"})
    clean.register("ch7_old_b", "cpu", chapter="ch7")(_tiny)
    clean.register("ch7_new", "cpu", chapter="ch7")(_tiny)
    clean.register("ch7_old_c", "ci", chapter="ch7")(_tiny)
    clean.retire_prefixed(("ch7_old",), "cpu")  # the family at that scale, nothing else
    assert clean.retired_names("cpu") == frozenset({"ch7_old", "ch7_old_b"})
    assert [s.name for s in clean.claims()] == ["ch7_old"]
    assert list(clean.claims_of("ch7_old")("x", "ci", None)) == [("x", "ci")]

    def make(scale):
        return scale

    def compute(cfg):
        return {}

    clean.register_artifact("ch7_art", make, compute, "ch7")
    assert clean.artifact_names() == ["ch7_art"]
    assert clean.artifact_spec("ch7_art") == (make, compute)
    assert clean.by_chapter(artifacts=True) == {"ch7": ["ch7_art"]}


def test_the_book_is_found_through_the_entry_point_only():
    """The installed package publishes l2lib.paper in the group; the library alone knows no
    chapter until the registry is first asked, and then knows all five."""
    eps = importlib.metadata.entry_points(group=registry.ENTRY_POINT_GROUP)
    assert {ep.value for ep in eps} >= {"l2lib.paper"}
    code = (
        "import sys\n"
        "from l2lib import registry, store, cli, claims\n"
        "assert not any(m.startswith('l2lib.paper') for m in sys.modules), 'imported early'\n"
        "chapters = set(registry.by_chapter()) | set(registry.by_chapter(artifacts=True))\n"
        "assert 'l2lib.paper' in sys.modules\n"
        "print(sorted(chapters))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['ch1', 'ch2', 'ch3', 'ch4', 'ch5', 'library']"


def test_the_book_registers_its_claims_in_chapter_order():
    chapters = [s.chapter for s in registry.claims()]
    assert chapters == sorted(chapters)  # ch1 … ch5, as the book presents them
    assert set(chapters) == {"ch1", "ch2", "ch3", "ch4", "ch5"}
    # Chapter 5 judges AutoL2 under a schedule by chapter 3's claims, found here.
    assert registry.claims_of("ch3_autol2_mlp").__module__ == "l2lib.paper.ch3_autol2"


def test_every_book_experiment_and_artifact_name_starts_with_its_chapter():
    """Names say chapter, setup and variant: ``ch2_optimal_l2_fmnist4k_probe``; only the
    library's own smoke test is outside the chapters."""
    names = registry.names() + registry.artifact_names()
    bad = [n for n in names if not n.startswith(f"{registry.chapter_of(n)}_") and n != "smoke"]
    assert bad == []
    assert {registry.chapter_of(n) for n in names} == {"ch1", "ch2", "ch3", "ch4", "ch5", "library"}


def test_a_renamed_artifact_is_read_under_its_former_name_then_rekeyed(clean, tmp_path):
    from l2lib import store

    class Cfg:
        def params(self):
            return {"n": 3}

    calls = []

    def compute(cfg):
        calls.append(1)
        return {"x": np.arange(3.0)}

    clean.register_artifact("old_art", lambda s: Cfg(), compute, "ch7")
    _, first = store.load_registered_artifact("old_art", "ci", root=tmp_path)
    clean.register_artifact("ch7_art", lambda s: Cfg(), compute, "ch7", formerly=("old_art",))
    _, again = store.load_registered_artifact("ch7_art", "ci", root=tmp_path, compute=False)
    assert calls == [1] and again.path == first.path  # found under the old name, not recomputed
    moved = store.Store(tmp_path).rekey(artifact_name_for={"old_art": "ch7_art"}.get)
    assert len(moved) == 1 and "ch7_art-ci-" in moved[0][1]
    _, after = store.load_registered_artifact("ch7_art", "ci", root=tmp_path, compute=False)
    assert np.array_equal(after["x"], first["x"]) and after.meta["renamed_from"] == [
        first.meta["key"]
    ]
    assert calls == [1] and store.Store(tmp_path).verify() == []
