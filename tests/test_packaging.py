"""Packaging: pins, and environment.yml in step with pyproject.toml."""

from __future__ import annotations

import pathlib

import pytest
import tomllib
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements() -> set[str]:
    proj = _pyproject()["project"]
    reqs = set(proj["dependencies"])
    for extra in ("book", "test"):
        reqs |= set(proj["optional-dependencies"][extra])
    return {r.replace(" ", "") for r in reqs}


def _env_pip() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {r.replace(" ", "") for r in pip if r != "-e ."}


def test_environment_yml_lists_the_same_dependencies():
    missing = _requirements() - _env_pip()
    extra = _env_pip() - _requirements()
    assert not missing, f"environment.yml lacks {sorted(missing)}: copy them from pyproject.toml"
    assert not extra, f"environment.yml has {sorted(extra)} that pyproject.toml does not"


def test_core_stack_is_pinned_exactly():
    deps = _requirements()
    for name in ("jax", "jaxlib", "flax", "optax"):
        assert any(d.startswith(f"{name}==") for d in deps), f"{name} must be pinned with =="
    jb = [d for d in deps if d.startswith("jupyter-book")]
    assert jb and all(d.startswith("jupyter-book==1.") for d in jb), "jupyter-book must be 1.x"


def test_gpu_extra_matches_the_jax_pin():
    proj = _pyproject()["project"]
    jax_pin = next(d for d in proj["dependencies"] if d.startswith("jax=="))
    gpu = proj["optional-dependencies"]["gpu"]
    assert any(d.startswith("jax[cuda") and d.endswith(jax_pin.split("==")[1]) for d in gpu)


# --- the package alone, as a researcher installs it --------------------------------------------

#: Run in the fresh venv, from an empty directory: the library's tools on a model of its own.
ALONE = """
import importlib.util, json
import numpy as np, optax
from flax import nnx
import l2lib
from l2lib import anymodel, analysis, autol2, config, data, models, store, theory, train

rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int32)
model = nnx.Sequential(nnx.Linear(8, 32, rngs=nnx.Rngs(0)), nnx.relu,
                       nnx.Linear(32, 2, rngs=nnx.Rngs(1)))
loss = lambda logits, labels: optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
run = anymodel.train_l2(model, optax.sgd(0.1), loss, (x, y), (x, y), l2=1e-3, num_steps=40,
                        learning_rate=0.1, eval_every=10, batch_size=32, name="alone", store="runs")
print(json.dumps({
    "version": l2lib.__version__,
    "recorded": run.meta["l2lib_version"],
    "accuracy": run.best_within(),
    "l2_opt": anymodel.predict_l2(2.0, 0.1, 1000),
    "book_extras": [m for m in ("jupyter_book", "sphinx", "myst_nb") if importlib.util.find_spec(m)],
    "file": l2lib.__file__,
}))
"""


@pytest.mark.slow
def test_the_package_alone_installs_imports_and_runs(tmp_path):
    """``pip install`` of the package without the [book] extras, in a fresh venv outside the
    checkout: the library imports, trains a model of the caller's through ``anymodel``, stores
    it with the installed version in its provenance, and Jupyter Book is not installed."""
    import json
    import shutil
    import subprocess
    import sys

    import l2lib

    # A copy of what the package is built from, so the build leaves nothing in the checkout.
    src = tmp_path / "src"
    shutil.copytree(ROOT / "l2lib", src / "l2lib", ignore=shutil.ignore_patterns("__pycache__"))
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = subprocess.run(
        [python, "-m", "pip", "install", "-q", str(src)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    work = tmp_path / "work"
    work.mkdir()
    r = subprocess.run(
        [python, "-c", ALONE],
        capture_output=True,
        text=True,
        cwd=work,
        env={"PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu", "HOME": str(tmp_path)},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["version"] == out["recorded"] == l2lib.__version__
    assert out["book_extras"] == [] and str(ROOT) not in out["file"]
    assert 0.5 < out["accuracy"] <= 1.0 and out["l2_opt"] == pytest.approx(0.02)
    assert list((work / "runs" / "artifacts").glob("alone-custom-*.json"))
