"""l2lib.data: shapes, dtypes, scaling, the MNIST-1D cache, the digits split, the TFDS path."""

from __future__ import annotations

import pathlib
import random
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from l2lib import data
from l2lib.config import DataConfig


def _assert_standardised(x: np.ndarray) -> None:
    assert abs(float(x.mean())) < 1e-4
    assert float(x.std()) == pytest.approx(1.0, abs=1e-4)


@pytest.fixture(scope="module")
def mnist1d() -> data.Dataset:
    return data.load(DataConfig(name="mnist1d"))


def test_mnist1d_shapes_dtypes_and_scaling(mnist1d):
    d = mnist1d
    assert d.name == "mnist1d" and d.num_classes == 10
    assert d.x_train.shape == (4000, 40) and d.x_test.shape == (1000, 40)
    assert d.y_train.shape == (4000,) and d.y_test.shape == (1000,)
    assert d.x_train.dtype == np.float32 and d.x_test.dtype == np.float32
    assert d.y_train.dtype == np.int32 and d.y_test.dtype == np.int32
    assert set(np.unique(d.y_train)) == set(range(10)) == set(np.unique(d.y_test))
    _assert_standardised(d.x_train)
    # The test split uses the training statistics, so it is only close to standard.
    assert abs(float(d.x_test.mean())) < 0.1 and abs(float(d.x_test.std()) - 1) < 0.1


def test_mnist1d_slicing_keeps_the_first_examples(mnist1d):
    d = data.load(DataConfig(name="mnist1d", num_train=100, num_test=50))
    assert d.x_train.shape == (100, 40) and d.x_test.shape == (50, 40)
    np.testing.assert_array_equal(d.y_train, mnist1d.y_train[:100])
    np.testing.assert_array_equal(d.y_test, mnist1d.y_test[:50])
    # Re-standardised on the kept examples: an affine map of the same rows.
    _assert_standardised(d.x_train)
    r = np.corrcoef(d.x_train.ravel(), mnist1d.x_train[:100].ravel())[0, 1]
    assert r == pytest.approx(1.0, abs=1e-6)


def test_mnist1d_cache_is_written_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("L2LIB_CACHE", str(tmp_path))
    # A small generation keeps the test fast; the cache key follows the args.
    small = {**data.mnist1d_args(), "num_samples": 200}
    monkeypatch.setattr(data, "mnist1d_args", lambda: small)
    calls = []
    generate = data._generate_mnist1d
    monkeypatch.setattr(data, "_generate_mnist1d", lambda a: calls.append(a) or generate(a))

    np.random.seed(123)
    random.seed(123)
    before = (np.random.random(), random.random())
    np.random.seed(123)
    random.seed(123)
    first = data.load(DataConfig(name="mnist1d"))
    assert (np.random.random(), random.random()) == before  # global RNGs untouched
    assert len(calls) == 1 and first.x_train.shape == (160, 40) and first.x_test.shape == (40, 40)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 1 and files[0].startswith("mnist1d-") and files[0].endswith(".npz")

    def boom(args):
        raise AssertionError("regenerated despite a cache hit")

    monkeypatch.setattr(data, "_generate_mnist1d", boom)
    second = data.load(DataConfig(name="mnist1d"))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_digits_split_sizes_determinism_and_scaling():
    d = data.load(DataConfig(name="digits"))
    assert d.name == "digits" and d.num_classes == 10
    assert d.x_train.shape == (1297, 64) and d.x_test.shape == (500, 64)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32
    _assert_standardised(d.x_train)
    counts = np.bincount(d.y_test, minlength=10)
    assert counts.min() >= 48 and counts.max() <= 52  # stratified: 500·(class share)
    again = data.load(DataConfig(name="digits", num_train=10, num_test=7))
    np.testing.assert_array_equal(again.y_train, d.y_train[:10])
    np.testing.assert_array_equal(again.y_test, d.y_test[:7])


@pytest.mark.parametrize(
    "name,shape", [("mnist", (28, 28, 1)), ("fashion_mnist", (28, 28, 1)), ("cifar10", (32, 32, 3))]
)
def test_tfds_data_source_path(name, shape, monkeypatch):
    # Force the TensorFlow-free path and let tfds's mock stand in for the prepared files.
    monkeypatch.setattr(data, "_tensorflow_available", lambda: False)
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    with tfds.testing.mock_data(num_examples=12):
        d = data.load(DataConfig(name=name, num_test=5, data_dir="/unused/by/the/mock"))
    assert d.name == name and d.num_classes == 10
    assert d.x_train.shape == (12, *shape) and d.x_test.shape == (5, *shape)
    assert d.x_train.dtype == np.float32 and d.x_test.dtype == np.float32
    assert d.y_train.dtype == np.int32 and d.y_test.dtype == np.int32
    assert d.y_train.min() >= 0 and d.y_train.max() < 10
    _assert_standardised(d.x_train)
    _assert_standardised(d.x_test)  # the authors scale each split by its own statistics


def test_tfds_absent_data_fails_fast_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_tensorflow_available", lambda: False)
    start = time.perf_counter()
    with pytest.raises(data.DataUnavailableError) as info:
        data.load(DataConfig(name="cifar10", data_dir=str(tmp_path)))
    assert time.perf_counter() - start < 5
    msg = str(info.value)
    assert "\n" not in msg
    assert "Colab" in msg and "data_dir" in msg and "tfds build cifar10" in msg


# ----------------------------------------------------------------------------- IDX files


def _write_idx(path, array: np.ndarray, gz: bool) -> None:
    import gzip

    head = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    raw = head + np.ascontiguousarray(array, np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)


def _idx_tree(tmp_path, n_train=9, n_test=4, gz=True):
    rng = np.random.default_rng(0)
    xs = {
        "train": rng.integers(0, 256, (n_train, 28, 28)),
        "test": rng.integers(0, 256, (n_test, 28, 28)),
    }
    ys = {"train": np.arange(n_train) % 10, "test": (np.arange(n_test) * 3) % 10}
    for split, (images, labels) in data.IDX_FILES.items():
        _write_idx(tmp_path / images, xs[split], gz)
        _write_idx(tmp_path / labels, ys[split], not gz)  # both spellings in one directory
    return xs, ys


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_files_are_read_in_file_order_and_scaled_per_split(tmp_path, name):
    xs, ys = _idx_tree(tmp_path)
    d = data.load(DataConfig(name=name, source="idx", data_dir=str(tmp_path)))
    assert d.name == name and d.num_classes == 10
    assert d.x_train.shape == (9, 28, 28, 1) and d.x_test.shape == (4, 28, 28, 1)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32
    np.testing.assert_array_equal(d.y_train, ys["train"])
    np.testing.assert_array_equal(d.y_test, ys["test"])
    raw = xs["train"].astype(np.float64)
    np.testing.assert_allclose(d.x_train[..., 0], (raw - raw.mean()) / raw.std(), atol=1e-5)
    _assert_standardised(d.x_test)  # its own statistics, as for the TFDS images
    cut = data.load(DataConfig(name=name, source="idx", data_dir=str(tmp_path), num_train=5))
    np.testing.assert_array_equal(cut.y_train, ys["train"][:5])


def test_idx_missing_file_names_the_debian_package_and_data_dir(tmp_path, monkeypatch):
    monkeypatch.setitem(data.IDX_DEFAULT_DIRS, "fashion_mnist", str(tmp_path / "absent"))
    with pytest.raises(data.DataUnavailableError) as info:
        data.load(DataConfig(name="fashion_mnist", source="idx"))
    msg = str(info.value)
    assert "\n" not in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "data_dir" in msg
    with pytest.raises(data.DataUnavailableError, match="data_dir"):
        data.load(DataConfig(name="mnist", source="idx"))  # no Debian package: data_dir needed


def test_idx_rejects_a_file_that_is_not_idx(tmp_path):
    _idx_tree(tmp_path, gz=False)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x89PNG not an idx file")
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        data.load(DataConfig(name="mnist", source="idx", data_dir=str(tmp_path)))


def test_idx_source_is_part_of_the_config_and_validated():
    from l2lib import config as C

    base = C.ci(data=DataConfig(name="fashion_mnist"))
    idx = C.ci(data=DataConfig(name="fashion_mnist", source="idx"))
    assert base.hash() != idx.hash()  # same images, another order: another experiment
    assert C.Experiment.from_dict(idx.to_dict()) == idx
    with pytest.raises(ValueError, match=r"data\.source"):
        DataConfig(name="mnist1d", source="idx")
    with pytest.raises(ValueError, match=r"data\.source"):
        DataConfig(name="mnist", source="web")


@pytest.mark.skipif(
    not (
        pathlib.Path(data.IDX_DEFAULT_DIRS["fashion_mnist"]) / "t10k-labels-idx1-ubyte.gz"
    ).exists(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)
def test_debian_fashion_mnist_is_the_published_data_set():
    d = data.load(DataConfig(name="fashion_mnist", source="idx"))
    assert d.x_train.shape == (60000, 28, 28, 1) and d.x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(d.y_train).tolist() == [6000] * 10
    assert np.bincount(d.y_test).tolist() == [1000] * 10
    assert d.y_train[:6].tolist() == [9, 0, 0, 3, 0, 2]  # ankle boot, T-shirt, T-shirt, dress, …


def test_malformed_idx_files_raise_one_line_invalid_input(tmp_path):
    import gzip
    import re

    from l2lib.config import InvalidInputError

    header = bytes([0, 0, 8, 1]) + (4).to_bytes(4, "big")
    cases = {
        "bad-header.gz": (gzip.compress(b"\x01\x02\x08\x01" + b"\x00" * 8), "not an unsigned"),
        "short.gz": (gzip.compress(header + b"\x01\x02"), "2 bytes of data for shape (4,)"),
        "cut.gz": (gzip.compress(bytes([0, 0, 8, 3, 0])), "header cut short"),
        "bad-gzip.gz": (b"plain bytes", "not a readable gzip file"),
    }
    for name, (body, needle) in cases.items():
        (tmp_path / name).write_bytes(body)
        with pytest.raises(data.MalformedDataError, match=re.escape(needle)) as e:
            data.read_idx(tmp_path / name)
        assert isinstance(e.value, InvalidInputError) and "\n" not in str(e.value)
    (tmp_path / "ok").write_bytes(header + b"\x01\x02\x03\x04")
    assert data.read_idx(tmp_path / "ok").tolist() == [1, 2, 3, 4]


def test_constant_inputs_are_refused_not_made_nan():
    x = np.zeros((8, 3))
    y = np.arange(8) % 2
    with pytest.raises(data.MalformedDataError, match="zero variance"):
        data._finish(DataConfig(), x, y, x[:4], y[:4], 2, per_split_stats=False)
