"""l2lib.validate: members per device (argument, environment, config), the checks on loaded
data arrays, and the order of the one pass before training; every failure one line naming the
fix, and nothing loaded, trained or written.

Data sets here are tiny synthetic arrays (or a stand-in for l2lib.data.load).
(tests/test_reliability.py runs the same errors end to end through the command line.)
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from l2lib import config, validate
from l2lib import data as data_lib
from l2lib.config import InvalidInputError

ENV = validate.MEMBERS_PER_DEVICE_ENV


def _ds(n_train: int = 64, n_test: int = 16, shape=(8,), classes: int = 3, **change):
    rng = np.random.default_rng(0)
    parts = dict(
        x_train=rng.normal(size=(n_train, *shape)).astype(np.float32),
        y_train=rng.integers(0, classes, n_train).astype(np.int32),
        x_test=rng.normal(size=(n_test, *shape)).astype(np.float32),
        y_test=rng.integers(0, classes, n_test).astype(np.int32),
        num_classes=classes,
        name="fake",
    )
    parts.update(change)
    return data_lib.Dataset(**parts)


def _one_line_error(fn, *args, **kw) -> str:
    with pytest.raises(InvalidInputError) as e:
        fn(*args, **kw)
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


def test_members_per_device_argument_then_environment_then_group_size(monkeypatch):
    cfg = config.ci(group_size=6)
    monkeypatch.delenv(ENV, raising=False)
    assert validate.members_per_device(cfg) == 6
    monkeypatch.setenv(ENV, "  ")  # blank: as if unset
    assert validate.members_per_device(cfg) == 6
    monkeypatch.setenv(ENV, " 8 ")
    assert validate.members_per_device(cfg) == 8
    assert validate.members_per_device(cfg, 3) == 3  # an argument wins over the environment
    monkeypatch.setenv(ENV, "lots")
    assert validate.members_per_device(cfg, 2) == 2  # ...and then the environment is not read
    for bad in (0, -1, True, 2.0, "4"):
        msg = _one_line_error(validate.members_per_device, cfg, bad)
        assert msg == f"members_per_device={bad!r}: must be a positive integer"


@pytest.mark.parametrize("raw", ["lots", "0", "-2", "1.5", "8 members"])
def test_a_bad_environment_value_names_the_variable_and_the_fix(monkeypatch, raw):
    monkeypatch.setenv(ENV, raw)
    msg = _one_line_error(validate.members_per_device, config.ci())
    assert msg == (f"{ENV}={raw!r}: must be a positive integer; set it to one (e.g. 8) or unset it")


BAD_DATA = {
    "batch": (dict(n_train=16), "optimizer.batch_size=32: larger than the 16 training examples"),
    "empty test": (dict(n_test=0), "fake: the test split is empty"),
    "labels short": (
        dict(y_train=np.zeros(10, np.int32)),
        "fake: training inputs (64, 8) and labels (10,) do not match",
    ),
    "labels 2-D": (
        dict(y_test=np.zeros((16, 1), np.int32)),
        "fake: test inputs (16, 8) and labels (16, 1) do not match",
    ),
    "nan": (dict(x_test=np.full((16, 8), np.nan, np.float32)), "test inputs are not all finite"),
    "inf": (dict(x_train=np.full((64, 8), np.inf, np.float32)), "training inputs are not all"),
    "label too big": (dict(y_test=np.full(16, 3, np.int32)), "test labels outside [0, 3)"),
    "label negative": (dict(y_train=np.full(64, -1, np.int32)), "training labels outside [0, 3)"),
    "constant": (dict(x_train=np.ones((64, 8), np.float32)), "(zero variance)"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_check_dataset_refuses_arrays_that_cannot_train_naming_the_fix(case):
    change, needle = BAD_DATA[case]
    msg = _one_line_error(validate.check_dataset, config.ci(), _ds(**change))
    assert needle in msg, msg
    assert msg.endswith(("a full batch is batch_size=16)", "check the data files")), msg


def test_augmentation_needs_image_arrays():
    cfg = config.ci(data=config.DataConfig(name="mnist", augment=True, num_train=64))
    msg = _one_line_error(validate.check_dataset, cfg, _ds())
    assert msg == (
        "data.augment=True: fake examples have shape (8,), augmentation needs images "
        "(H, W, C); set it False"
    )
    validate.check_dataset(cfg, _ds(shape=(4, 4, 1)))  # images: fine
    validate.check_dataset(config.ci(), _ds(n_train=32))  # a full batch is allowed


def test_validate_checks_the_environment_before_loading_and_returns_the_checked_data(
    monkeypatch,
):
    cfg = config.ci()
    loaded = []

    def fake_load(data_cfg):
        loaded.append(data_cfg)
        return _ds()

    monkeypatch.setattr(data_lib, "load", fake_load)
    monkeypatch.setenv(ENV, "zero")
    _one_line_error(validate.validate, cfg)
    assert loaded == []  # a bad environment fails before any data is read
    monkeypatch.delenv(ENV)
    ds = _ds()
    assert validate.validate(cfg, dataset=ds) is ds and loaded == []  # given: not loaded
    out = validate.validate(cfg)
    assert loaded == [cfg.data] and isinstance(out, data_lib.Dataset)
    monkeypatch.setattr(data_lib, "load", lambda d: _ds(n_train=8))
    assert "8 training examples" in _one_line_error(validate.validate, cfg)
    assert _one_line_error(validate.validate, cfg.to_dict(), ds).endswith(
        ": not an l2lib.config.Experiment"
    )
    assert _one_line_error(validate.validate, cfg, ds, 0).startswith("members_per_device=0")


def test_validate_imports_no_jax():
    code = "import sys, l2lib.validate; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
