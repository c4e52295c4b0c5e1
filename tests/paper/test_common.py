"""Chapter plumbing: setup cells follow _config.yml, the scale switch, and missing runs."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

import jax
import pytest

from l2lib import registry, store
from l2lib.paper import common


def test_every_chapter_starts_with_the_setup_cell_for_the_configured_repository():
    notebooks = common.chapter_notebooks()
    assert notebooks, "no chapter notebooks under book/"
    expected = common.setup_cell_source(common.repository_url(), common.repository_branch())
    for path in notebooks:
        first = json.loads(path.read_text())["cells"][0]
        assert first["cell_type"] == "code"
        assert "".join(first["source"]) == expected, (
            f"{path.name}: setup cell out of step with _config.yml; run "
            "python -c 'from l2lib import book; common.sync_setup_cells()'"
        )


def _run_setup_cell(monkeypatch, tmp_path, *, colab, returncodes=(0, 0, 0), nvidia_smi=None):
    """Execute the setup cell here with pip, Colab and nvidia-smi faked; return pip's calls."""
    calls = []

    def fake_run(cmd, *args, **kwargs):
        calls.append(list(cmd))
        return subprocess.CompletedProcess(cmd, returncodes[len(calls) - 1])

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(shutil, "which", lambda name: nvidia_smi if name == "nvidia-smi" else None)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setenv(common.CHECKOUT_ENV, str(tmp_path / "l2book"))
    for var in (common.REPOSITORY_ENV, common.BRANCH_ENV):
        monkeypatch.delenv(var, raising=False)
    # The cell sets L2LIB_STORE; recorded here so that the test's end restores it.
    monkeypatch.setenv("L2LIB_STORE", str(tmp_path / "unset"))
    src = common.setup_cell_source("https://github.com/someone/fork", "stable")
    exec(compile(src, "setup-cell", "exec"), {})
    return calls


def test_setup_cell_installs_beside_colab_jax_without_replacing_it(monkeypatch, tmp_path):
    monkeypatch.delenv("L2LIB_REQUIRE_GPU", raising=False)
    calls = _run_setup_cell(monkeypatch, tmp_path, colab=True)
    # The repository (code and cached runs) is cloned at the book's branch, then installed.
    checkout = str(tmp_path / "l2book")
    assert calls[0] == [
        "git", "clone", "-q", "--depth", "1", "--branch", "stable",
        "https://github.com/someone/fork", checkout,
    ]  # fmt: skip
    assert os.environ["L2LIB_STORE"] == os.path.join(checkout, "book", "runs")
    calls = calls[1:]
    assert len(calls) == 2
    constraints = tmp_path / "l2book-keep-jax.txt"
    pinned = constraints.read_text().split()
    # Every installed jax package is pinned to its installed version...
    assert f"jax=={jax.__version__}" in pinned
    assert f"jaxlib=={importlib.metadata.version('jaxlib')}" in pinned
    for call in calls:
        assert call[1:6] == ["-m", "pip", "install", "-q", "-c"] and call[6] == str(constraints)
        # ...and jax itself is never asked for.
        assert not any(a.split("[")[0].split("=")[0] in common.JAX_DISTRIBUTIONS for a in call[7:])
    assert calls[0][7:] == ["--no-deps", checkout]
    assert calls[1][7:] == list(common.COLAB_DEPS)


def test_setup_cell_fails_loudly_when_pip_cannot_keep_colab_jax(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match=r"could not install .*jax\[cuda12\]==0.10.2"):
        _run_setup_cell(monkeypatch, tmp_path, colab=True, returncodes=(0, 0, 1))


def test_setup_cell_names_the_fix_when_the_repository_cannot_be_cloned(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match="git could not clone .* set L2BOOK_REPOSITORY"):
        _run_setup_cell(monkeypatch, tmp_path, colab=True, returncodes=(128,))


def test_setup_cell_reuses_an_existing_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv("L2LIB_REQUIRE_GPU", raising=False)
    (tmp_path / "l2book" / "book" / "runs").mkdir(parents=True)
    calls = _run_setup_cell(monkeypatch, tmp_path, colab=True)
    assert [c[0] for c in calls] == [sys.executable, sys.executable]  # pip twice, no clone


def test_setup_cell_follows_the_configured_branch(tmp_path):
    cfg = tmp_path / "_config.yml"
    cfg.write_text("repository:\n  url: https://github.com/a/b\n  branch: dev\n")
    assert common.repository_branch(cfg) == "dev"
    cfg.write_text("repository:\n  url: https://github.com/a/b\n")
    assert common.repository_branch(cfg) == "main"
    assert "'L2BOOK_BRANCH', 'dev'" in common.setup_cell_source("u", "dev").replace('"', "'")


def test_setup_cell_fails_loudly_on_cpu_when_a_gpu_was_asked_for(monkeypatch, tmp_path):
    monkeypatch.delenv("L2LIB_REQUIRE_GPU", raising=False)
    assert jax.default_backend() == "cpu"
    # A Colab GPU runtime whose jax fell back to the CPU.
    with pytest.raises(RuntimeError, match="JAX runs on the CPU"):
        _run_setup_cell(monkeypatch, tmp_path, colab=True, nvidia_smi="/usr/bin/nvidia-smi")
    # Not on Colab: nothing is installed, and the CPU is fine unless a GPU is required.
    assert _run_setup_cell(monkeypatch, tmp_path, colab=False) == []
    monkeypatch.setenv("L2LIB_REQUIRE_GPU", "1")
    with pytest.raises(RuntimeError, match="JAX runs on the CPU"):
        _run_setup_cell(monkeypatch, tmp_path, colab=False)


def test_repository_url_is_read_from_config(tmp_path):
    cfg = tmp_path / "_config.yml"
    cfg.write_text(
        "title: x\nrepository:\n  url: https://github.com/a/b  # fork me\n  branch: main\n"
    )
    assert common.repository_url(cfg) == "https://github.com/a/b"
    cfg.write_text("title: x\n")
    with pytest.raises(ValueError, match="repository.url"):
        common.repository_url(cfg)


def test_paper_scale_recompute_on_cpu_fails_loudly():
    with pytest.raises(RuntimeError, match="needs a GPU"):
        common.check_backend("paper", recompute=True)
    assert common.check_backend("cpu", recompute=True) == "cpu"


def test_missing_run_says_what_it_costs_and_how_to_make_it(tmp_path):
    with pytest.raises(store.MissingEntryError) as e:
        common.load_run("ch1_timescale_cnn", "paper", recompute=False, root=tmp_path)
    msg = str(e.value)
    assert "wrn" in msg and "cifar10" in msg and "member-steps" in msg
    assert "python -m l2lib sweep ch1_timescale_cnn --scale paper" in msg
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["ch1_timescale_mlp", "ch1_timescale_cnn"])
def test_chapter_experiments_exist_at_every_scale(name):
    for scale in ("ci", "cpu", "paper"):
        cfg = registry.get(name, scale)
        assert cfg.scale == scale and cfg.name == name


def test_every_chapter_opens_with_its_title_and_verdict_with_the_plumbing_folded():
    """A reader's first screen: the setup and parameter cells folded in the HTML (still run by
    Colab), then the title, its opening and the chapter's verdict table before any section."""
    for path in common.chapter_notebooks():
        cells = json.loads(path.read_text())["cells"]
        sources = ["".join(c["source"]) for c in cells]
        for i, src in enumerate(sources):
            if src.startswith(common.SETUP_MARKER) or src.startswith("SCALE ="):
                assert common.FOLDED in cells[i]["metadata"].get("tags", []), (path.name, i)
        assert sources[1].startswith("# "), path.name
        if not path.stem.startswith("ch"):
            continue  # a guide (use_on_your_model) makes no claims, so it has no verdict
        first_section = next(i for i, s in enumerate(sources) if s.startswith("## "))
        verdict = [i for i, s in enumerate(sources) if "common.verdict_table(" in s]
        assert verdict and verdict[0] < first_section, path.name
