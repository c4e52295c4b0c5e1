"""Data sets as NumPy arrays: ``load(DataConfig) -> Dataset``; nothing else happens here.

- ``mnist1d``: generated locally with the ``mnist1d`` package (its default arguments: 4000
  training and 1000 test signals of length 40, 10 classes; never downloaded) and cached as
  ``.npz`` under ``$L2LIB_CACHE`` (default ``~/.cache/l2lib``), keyed by the generation args
  and the package version.
- ``digits``: scikit-learn's bundled 8×8 digits (1797 examples, 64 features, pixels 0..16),
  split once with a fixed seed, stratified by class: 1297 training and 500 test examples.
- ``mnist``, ``fashion_mnist``, ``cifar10``: TensorFlow Datasets, read from ``cfg.data_dir``.
  With TensorFlow installed (Colab) through ``tfds.load`` (which downloads what is missing);
  without it through TFDS's TensorFlow-free ArrayRecord data source, which needs the data
  already prepared on disk (``tfds build NAME --file_format=array_record``). Absent data raises
  :class:`DataUnavailableError` at once; there is never a fallback to another data set.
- ``mnist``, ``fashion_mnist`` with ``source="idx"``: the same images from their original IDX
  files (``train-images-idx3-ubyte[.gz]`` and the three others), in file order, from
  ``cfg.data_dir`` or, for Fashion-MNIST, from Debian's ``dataset-fashion-mnist`` package
  (``/usr/share/datasets/fashion-mnist``) — a package registry, so this works offline of the
  data set's own site. Scaled per split like the TFDS images.

Scaling: x ← (x − m)/s with one global mean m and standard deviation s over all entries (all
pixels and channels) of an array. For the TFDS images each split uses its own m and s, as the
authors' ``load_data`` does; for the two local data sets both splits use the training split's
m and s. ``num_train`` / ``num_test`` keep the first N examples and are applied *before* the
statistics are taken (with ``None`` this is exactly the authors' scaling).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import pathlib
import random
import tempfile
from typing import Any, NamedTuple

import numpy as np

from l2lib.config import DataConfig, InvalidInputError

__all__ = [
    "cache_dir",
    "Dataset",
    "DataUnavailableError",
    "DIGITS_NUM_TEST",
    "IDX_DEFAULT_DIRS",
    "idx_dir",
    "IDX_FILES",
    "load",
    "MalformedDataError",
    "mnist1d_args",
    "read_idx",
    "sphere_data",
    "TFDS_SPLITS",
]

#: Examples held out for testing from scikit-learn's 1797 digits, and the split's seed.
DIGITS_NUM_TEST = 500
DIGITS_SPLIT_SEED = 0
#: TFDS split names.
TFDS_SPLITS = ("train", "test")
#: Where Debian packages put the IDX files (``apt-get install dataset-fashion-mnist``).
IDX_DEFAULT_DIRS = {"fashion_mnist": "/usr/share/datasets/fashion-mnist"}
IDX_DEBIAN_PACKAGES = {"fashion_mnist": "dataset-fashion-mnist"}
#: The four IDX files of MNIST and Fashion-MNIST (same names for both), by split.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class Dataset(NamedTuple):
    """Training and test arrays: ``x`` float32 ``(N, *shape)``, ``y`` int32 ``(N,)`` class indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    name: str


class DataUnavailableError(RuntimeError):
    """The requested data set is not available here; the message names the fix."""


class MalformedDataError(InvalidInputError):
    """The data files are there but damaged or unusable (a malformed IDX file, inputs that are
    all equal or not finite); bad input, one line naming the file and the fix."""


def cache_dir() -> pathlib.Path:
    """``$L2LIB_CACHE`` if set, else ``~/.cache/l2lib``."""
    return pathlib.Path(os.environ.get("L2LIB_CACHE") or pathlib.Path.home() / ".cache" / "l2lib")


def _standardise(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return ((x - mean) / std).astype(np.float32)


def _first(a: np.ndarray, n: int | None) -> np.ndarray:
    return a if n is None else a[:n]


def _finish(
    cfg: DataConfig,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    num_classes: int,
    per_split_stats: bool,
) -> Dataset:
    """Slice to ``num_train`` / ``num_test``, then scale (see the module docstring)."""
    x_train, y_train = _first(x_train, cfg.num_train), _first(y_train, cfg.num_train)
    x_test, y_test = _first(x_test, cfg.num_test), _first(y_test, cfg.num_test)
    x_train = np.asarray(x_train, np.float64)
    x_test = np.asarray(x_test, np.float64)
    m, s = float(x_train.mean()), float(x_train.std())
    m_test, s_test = (float(x_test.mean()), float(x_test.std())) if per_split_stats else (m, s)
    # A zero (or non-finite) spread would turn every input into NaN, and every member would
    # then "diverge at step 0": refuse the data instead.
    for split, mean, std in (("training", m, s), ("test", m_test, s_test)):
        if not (math.isfinite(mean) and math.isfinite(std)):
            raise MalformedDataError(
                f"{cfg.name}: the {split} inputs are not all finite; check the data files"
            )
        if std == 0:
            raise MalformedDataError(
                f"{cfg.name}: every {split} input is the same value (zero variance), so the "
                "inputs cannot be standardised; check the data files"
            )
    return Dataset(
        x_train=_standardise(x_train, m, s),
        y_train=np.asarray(y_train, np.int32),
        x_test=_standardise(x_test, m_test, s_test),
        y_test=np.asarray(y_test, np.int32),
        num_classes=int(num_classes),
        name=cfg.name,
    )


# ----------------------------------------------------------------------------- MNIST-1D


def mnist1d_args() -> dict[str, Any]:
    """The ``mnist1d`` package's default generation arguments (without its download URL)."""
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args.pop("url", None)
    return args


@contextlib.contextmanager
def _preserve_global_rng():
    """``mnist1d`` seeds the global ``random`` and ``np.random``; give the caller theirs back."""
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _generate_mnist1d(args: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run the ``mnist1d`` generator (deterministic in ``args['seed']``); no download."""
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    with _preserve_global_rng():
        d = make_dataset(ObjectView(dict(args)))
    return {"x": d["x"], "y": d["y"], "x_test": d["x_test"], "y_test": d["y_test"]}


def _atomic_savez(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _load_mnist1d(cfg: DataConfig) -> Dataset:
    args = mnist1d_args()
    # The generator's version is part of the key: the same args could make other signals.
    blob = json.dumps(
        {"args": args, "mnist1d": importlib.metadata.version("mnist1d")}, sort_keys=True
    )
    key = hashlib.sha256(blob.encode()).hexdigest()[:16]
    path = cache_dir() / f"mnist1d-{key}.npz"
    if path.exists():
        with np.load(path) as f:
            d = {k: f[k] for k in f.files}
    else:
        d = _generate_mnist1d(args)
        _atomic_savez(path, d)
    num_classes = int(max(d["y"].max(), d["y_test"].max())) + 1
    return _finish(
        cfg, d["x"], d["y"], d["x_test"], d["y_test"], num_classes, per_split_stats=False
    )


# ----------------------------------------------------------------------------- digits


def _load_digits(cfg: DataConfig) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=DIGITS_NUM_TEST, stratify=y, random_state=DIGITS_SPLIT_SEED
    )
    num_classes = len(np.unique(y))
    return _finish(cfg, x_train, y_train, x_test, y_test, num_classes, per_split_stats=False)


# ----------------------------------------------------------------------------- TFDS


def _tensorflow_available() -> bool:
    return importlib.util.find_spec("tensorflow") is not None


def _unavailable(name: str, where: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"TFDS data set {name!r} is not prepared in {where}: run on Colab (with TensorFlow it "
        f"downloads), or pass DataConfig(data_dir=...) pointing at TFDS data prepared with "
        f"`tfds build {name} --file_format=array_record`."
    )


def _read_source(source: Any, n: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` (image, label) pairs of a TFDS random-access data source."""
    count = len(source) if n is None else min(n, len(source))
    examples = [source[i] for i in range(count)]
    x = np.stack([np.asarray(e["image"]) for e in examples])
    y = np.asarray([e["label"] for e in examples])
    return x, y


def _load_tfds(cfg: DataConfig) -> Dataset:
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:  # pragma: no cover - it is a dependency
        raise DataUnavailableError(
            f"{cfg.name} needs tensorflow-datasets: pip install tensorflow-datasets"
        ) from e

    builder = tfds.builder(cfg.name, data_dir=cfg.data_dir)
    num_classes = builder.info.features["label"].num_classes
    if _tensorflow_available():
        train, test = tfds.as_numpy(
            tfds.load(cfg.name, split=list(TFDS_SPLITS), batch_size=-1, data_dir=cfg.data_dir)
        )
        x_train, y_train = train["image"], train["label"]
        x_test, y_test = test["image"], test["label"]
    else:
        # No TensorFlow: only prepared ArrayRecord files can be read. Checking first keeps us
        # from tfds's download-and-prepare path, which offline retries for minutes.
        if not builder.is_prepared():
            raise _unavailable(cfg.name, str(builder.data_path))
        try:
            train_src, test_src = builder.as_data_source(split=list(TFDS_SPLITS))
        except (NotImplementedError, ValueError) as e:
            raise DataUnavailableError(
                f"TFDS data set {cfg.name!r} in {builder.data_path} is not in ArrayRecord "
                f"format ({e.__class__.__name__}): install tensorflow, or re-prepare it with "
                f"`tfds build {cfg.name} --file_format=array_record`."
            ) from e
        x_train, y_train = _read_source(train_src, cfg.num_train)
        x_test, y_test = _read_source(test_src, cfg.num_test)
    return _finish(cfg, x_train, y_train, x_test, y_test, num_classes, per_split_stats=True)


# ----------------------------------------------------------------------------- IDX files


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An unsigned-byte IDX array (the MNIST file format), gzipped or not.

    The header is two zero bytes, a type code (0x08: unsigned byte), the number of dimensions,
    then one big-endian uint32 per dimension; the data follow in C order.
    """
    import gzip
    import zlib

    path = pathlib.Path(path)
    fix = "replace it with an intact copy (or pass another DataConfig(data_dir=...))"
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise MalformedDataError(f"{path}: not a readable gzip file ({e}); {fix}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise MalformedDataError(
            f"{path}: not an unsigned-byte IDX file (header {raw[:4].hex()}); {fix}"
        )
    ndim = raw[3]
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise MalformedDataError(f"{path}: IDX header cut short ({ndim} dimensions); {fix}")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if body.size != math.prod(shape):
        raise MalformedDataError(
            f"{path}: {body.size} bytes of data for shape {shape} (cut short or padded); {fix}"
        )
    return body.reshape(shape)


def idx_dir(cfg: DataConfig) -> pathlib.Path:
    """The directory the IDX files of ``cfg`` are read from (``data_dir`` or the default)."""
    where = cfg.data_dir or IDX_DEFAULT_DIRS.get(cfg.name)
    if where is None:
        raise DataUnavailableError(
            f"{cfg.name} from IDX files needs DataConfig(data_dir=...) naming the directory "
            f"with {', '.join(IDX_FILES['train'] + IDX_FILES['test'])} (.gz or not)."
        )
    return pathlib.Path(where)


def _idx_file(d: pathlib.Path, stem: str, cfg: DataConfig) -> pathlib.Path:
    for name in (stem, stem + ".gz"):
        if (d / name).exists():
            return d / name
    pkg = IDX_DEBIAN_PACKAGES.get(cfg.name)
    how = f"`apt-get install {pkg}` (Debian), or " if pkg and cfg.data_dir is None else ""
    raise DataUnavailableError(
        f"{cfg.name} IDX file {stem}[.gz] is not in {d}: {how}pass DataConfig(data_dir=...) "
        f"naming a directory with the four IDX files."
    )


def _load_idx(cfg: DataConfig) -> Dataset:
    d = idx_dir(cfg)
    arrays = {}
    for split, (images, labels) in IDX_FILES.items():
        x = read_idx(_idx_file(d, images, cfg))
        y = read_idx(_idx_file(d, labels, cfg))
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise MalformedDataError(
                f"{d}: {split} images {x.shape} and labels {y.shape} do not match; replace "
                "them with the data set's own pair of files"
            )
        arrays[split] = (x[..., None], y)  # (N, 28, 28, 1), as TFDS gives them
    (x_train, y_train), (x_test, y_test) = arrays["train"], arrays["test"]
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    return _finish(cfg, x_train, y_train, x_test, y_test, num_classes, per_split_stats=True)


def load(cfg: DataConfig) -> Dataset:
    """Load the data set ``cfg`` names, scaled as in the module docstring.

    Args:
      cfg: which data set (``cfg.name``), how many examples (``num_train``, ``num_test``: the
        first N) and, for TFDS data sets, where it lives (``data_dir``).

    Returns:
      A :class:`Dataset`; ``x`` float32 of shape (N, 40) for mnist1d, (N, 64) for digits,
      (N, 28, 28, 1) for mnist / fashion_mnist, (N, 32, 32, 3) for cifar10; ``y`` int32.

    Raises:
      DataUnavailableError: a TFDS data set or IDX file is not available (one line naming
        the fix).
      MalformedDataError: the files are damaged (IDX structure) or the inputs are unusable
        (not finite, or all one value); an ``InvalidInputError``, one line naming the fix.
    """
    if cfg.name == "mnist1d":
        return _load_mnist1d(cfg)
    if cfg.name == "digits":
        return _load_digits(cfg)
    if cfg.source == "idx":
        return _load_idx(cfg)
    return _load_tfds(cfg)


def sphere_data(num_train: int, num_test: int):
    """MNIST-1D inputs scaled to ‖x‖ = √d (the scale the NTK formulas of :mod:`l2lib.theory`
    assume), one-hot float targets; ``(x, y, x_test, y_test)``."""
    ds = load(DataConfig(name="mnist1d", num_train=num_train, num_test=num_test))

    def sphere(x: np.ndarray) -> np.ndarray:
        x = x.reshape(x.shape[0], -1).astype(np.float64)
        return x / np.linalg.norm(x, axis=1, keepdims=True) * np.sqrt(x.shape[1])

    eye = np.eye(ds.num_classes)
    eye = eye.astype(np.float32)
    return sphere(ds.x_train), eye[ds.y_train], sphere(ds.x_test), eye[ds.y_test]
