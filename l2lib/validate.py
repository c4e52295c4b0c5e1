"""One validation pass over a sweep's inputs, before any lock is taken or any step trained.

What is checked, and where:

- **every config field** (type and range: an int is an int and a bool is not, a flag is a bool,
  seeds lie in [0, 2**32)) and the **cross-field** rules that need no data (a batch no larger
  than ``data.num_train``, augmentation only on image data sets): by the config's own
  dataclasses, so an invalid :class:`~l2lib.config.Experiment` cannot be built at all;
- the **environment**: ``$L2LIB_MEMBERS_PER_DEVICE`` is a positive integer
  (:func:`members_per_device`);
- the **data**: IDX structure (header, body length, gzip stream, as many labels as images) and
  finite, non-constant inputs, by :func:`l2lib.data.load`; here (:func:`check_dataset`) the
  checks that need the loaded arrays: the batch against the training set's size, images for
  augmentation, finite inputs, labels in range.

Every failure raises :class:`~l2lib.config.InvalidInputError` (a ``ValueError``) whose message
is one line naming the field and the fix; the command line turns it into exit code 2 with
nothing in the store touched. :func:`l2lib.store.load_or_run` calls :func:`validate` before it
takes the key's lock. Nothing here imports JAX.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from l2lib.config import Experiment, InvalidInputError

#: Environment override of the members each device trains at once (the memory knob; read by
#: :func:`l2lib.train.resolve_members_per_device`).
MEMBERS_PER_DEVICE_ENV = "L2LIB_MEMBERS_PER_DEVICE"

__all__ = [
    "InvalidInputError",
    "MEMBERS_PER_DEVICE_ENV",
    "check_dataset",
    "members_per_device",
    "validate",
]


def members_per_device(cfg: Experiment, override: int | None = None) -> int:
    """Members each device trains at once: ``override``, else ``$L2LIB_MEMBERS_PER_DEVICE``,
    else ``cfg.group_size``.

    Raises:
      InvalidInputError: the override or the environment variable is not a positive integer.
    """
    if override is None:
        raw = os.environ.get(MEMBERS_PER_DEVICE_ENV, "").strip()
        if raw:
            try:
                override = int(raw)
            except ValueError:
                raise InvalidInputError(
                    f"{MEMBERS_PER_DEVICE_ENV}={raw!r}: must be a positive integer; set it to "
                    "one (e.g. 8) or unset it"
                ) from None
            if override <= 0:
                raise InvalidInputError(
                    f"{MEMBERS_PER_DEVICE_ENV}={raw!r}: must be a positive integer; set it to "
                    "one (e.g. 8) or unset it"
                )
    n = cfg.group_size if override is None else override
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise InvalidInputError(f"members_per_device={n!r}: must be a positive integer")
    return n


def check_dataset(cfg: Experiment, ds: Any) -> None:
    """Whether ``ds`` (a :class:`l2lib.data.Dataset`) can train ``cfg``.

    Raises:
      InvalidInputError: one line naming what is wrong and the fix.
    """
    name = getattr(ds, "name", cfg.data.name)
    n = int(ds.x_train.shape[0])
    if cfg.optimizer.batch_size > n:
        raise InvalidInputError(
            f"optimizer.batch_size={cfg.optimizer.batch_size}: larger than the {n} training "
            f"examples of {name}; lower it (a full batch is batch_size={n})"
        )
    if cfg.data.augment and ds.x_train.ndim != 4:
        raise InvalidInputError(
            f"data.augment=True: {name} examples have shape {tuple(ds.x_train.shape[1:])}, "
            "augmentation needs images (H, W, C); set it False"
        )
    for split, x, y in (("training", ds.x_train, ds.y_train), ("test", ds.x_test, ds.y_test)):
        if x.shape[0] == 0:
            raise InvalidInputError(f"{name}: the {split} split is empty; check the data files")
        if y.shape != (x.shape[0],):
            raise InvalidInputError(
                f"{name}: {split} inputs {tuple(x.shape)} and labels {tuple(y.shape)} do not "
                "match; check the data files"
            )
        if not np.isfinite(x).all():
            raise InvalidInputError(
                f"{name}: the {split} inputs are not all finite; check the data files"
            )
        if y.min() < 0 or y.max() >= ds.num_classes:
            raise InvalidInputError(
                f"{name}: {split} labels outside [0, {ds.num_classes}); check the data files"
            )
    if np.all(ds.x_train == ds.x_train.reshape(-1)[0]):
        raise InvalidInputError(
            f"{name}: every training input is the same value (zero variance); check the data files"
        )


def validate(cfg: Experiment, dataset: Any = None, members: int | None = None) -> Any:
    """The one pass before training ``cfg``: environment, then data (loaded unless given).

    The config's own fields were checked when it was built. Returns the data set, so that the
    caller trains on exactly the arrays that were checked.

    Raises:
      InvalidInputError: bad input (one line naming the fix).
      l2lib.data.DataUnavailableError: the data set is not available here.
    """
    if not isinstance(cfg, Experiment):
        raise InvalidInputError(f"{cfg!r}: not an l2lib.config.Experiment")
    members_per_device(cfg, members)
    if dataset is None:
        from l2lib import data as data_lib

        dataset = data_lib.load(cfg.data)
    check_dataset(cfg, dataset)
    return dataset
