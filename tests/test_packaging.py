"""Packaging: pins, and environment.yml in step with pyproject.toml."""

from __future__ import annotations

import pathlib

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
