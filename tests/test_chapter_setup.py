"""Chapter plumbing: setup cells follow _config.yml, the scale switch, and missing runs."""

from __future__ import annotations

import json

import pytest

from l2lib import book, experiments, store


def test_every_chapter_starts_with_the_setup_cell_for_the_configured_repository():
    notebooks = book.chapter_notebooks()
    assert notebooks, "no chapter notebooks under book/"
    expected = book.setup_cell_source(book.repository_url())
    for path in notebooks:
        first = json.loads(path.read_text())["cells"][0]
        assert first["cell_type"] == "code"
        assert "".join(first["source"]) == expected, (
            f"{path.name}: setup cell out of step with _config.yml; run "
            "python -c 'from l2lib import book; book.sync_setup_cells()'"
        )


def test_setup_cell_keeps_colab_jax_and_installs_from_the_repository():
    src = book.setup_cell_source("https://github.com/someone/fork")
    assert '--no-deps "l2lib @ git+https://github.com/someone/fork"' in src
    assert "jax==" not in src and "jaxlib" not in src  # never replaces Colab's CUDA jax
    assert 'if "google.colab" in sys.modules:' in src


def test_repository_url_is_read_from_config(tmp_path):
    cfg = tmp_path / "_config.yml"
    cfg.write_text(
        "title: x\nrepository:\n  url: https://github.com/a/b  # fork me\n  branch: main\n"
    )
    assert book.repository_url(cfg) == "https://github.com/a/b"
    cfg.write_text("title: x\n")
    with pytest.raises(ValueError, match="repository.url"):
        book.repository_url(cfg)


def test_paper_scale_recompute_on_cpu_fails_loudly():
    with pytest.raises(RuntimeError, match="needs a GPU"):
        book.check_backend("paper", recompute=True)
    assert book.check_backend("cpu", recompute=True) == "cpu"


def test_missing_run_says_what_it_costs_and_how_to_make_it(tmp_path):
    with pytest.raises(store.MissingEntryError) as e:
        book.load_run("timescale_cnn", "paper", recompute=False, root=tmp_path)
    msg = str(e.value)
    assert "wrn" in msg and "cifar10" in msg and "member-steps" in msg
    assert "python -m l2lib sweep timescale_cnn --scale paper" in msg
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["timescale_mlp", "timescale_cnn"])
def test_chapter_experiments_exist_at_every_scale(name):
    for scale in ("ci", "cpu", "paper"):
        cfg = experiments.get(name, scale)
        assert cfg.scale == scale and cfg.name == name
