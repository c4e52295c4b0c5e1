"""Data augmentation on the device, as the authors' CIFAR-10 code does it (``google/autol2``).

Their ``jaxwrn_utils.augment`` transforms each training batch, in this order:

1. **flip**: each image is mirrored left–right (``image[:, :, ::-1]`` on NHWC) with
   probability ½;
2. **pad and crop**: each image is padded with ``PAD_PIXELS = 4`` zeros on every side (zero is
   the mean: the images are already standardised) and a 32×32 window is cut at a random corner
   ``(i, j)``, each drawn uniformly from ``{0, …, 2·PAD_PIXELS − 1}`` (their
   ``random.randint(key, (2,), 0, 2 * pixels)``: the offset 2·PAD_PIXELS is never drawn, so a
   crop can shift an image by −4 … +3 pixels; we keep that);
3. **mixup** (Zhang et al. 2018): example ``n`` of a batch of ``N`` is mixed with example
   ``N − 1 − n`` (the batch read backwards), with its own weight ``w_n ~ Beta(α, α)``,
   ``α = MIXUP_ALPHA = 1`` (uniform on [0, 1])::

       x̃_n = w_n·x_n + (1 − w_n)·x_{N−1−n},     ỹ_n = w_n·y_n + (1 − w_n)·y_{N−1−n}

   with ``y`` one-hot, so the targets become soft. The loss is the cross-entropy against
   ``ỹ`` (−Σ_k ỹ_k log p_k) and the batch accuracy counts ``argmax f = argmax ỹ``, as theirs.

Every function is pure and takes an explicit key: it runs inside the engine's ``lax.scan`` and
``vmap`` over grid members (the engine derives the key from the member's data key and step).
Only the training batches are augmented; evaluation sees the test set as it is.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

#: Zeros added on each side of an image before the random crop.
PAD_PIXELS = 4
#: Beta(α, α) parameter of the mixup weights (α = 1: uniform).
MIXUP_ALPHA = 1.0


def flip(key: jax.Array, images: jax.Array) -> jax.Array:
    """Mirror each image of ``images`` (N, H, W, C) left–right with probability ½."""
    coin = jax.random.uniform(key, (images.shape[0], 1, 1, 1)) < 0.5
    return jnp.where(coin, images[:, :, ::-1], images)


def crop_offsets(key: jax.Array, num: int, pad: int = PAD_PIXELS) -> jax.Array:
    """(num, 2) int32 corners of the crop windows, each uniform in {0, …, 2·pad − 1}."""
    return jax.random.randint(key, (num, 2), 0, 2 * pad, dtype=jnp.int32)


def pad_and_crop(key: jax.Array, images: jax.Array, pad: int = PAD_PIXELS) -> jax.Array:
    """Zero-pad each image by ``pad`` pixels on every side and cut an H×W window at a random
    corner (see :func:`crop_offsets`)."""
    n, h, w, c = images.shape
    padded = jnp.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    corners = crop_offsets(key, n, pad)

    def one(image, corner):
        return jax.lax.dynamic_slice(image, (corner[0], corner[1], 0), (h, w, c))

    return jax.vmap(one)(padded, corners)


def mixup_weights(key: jax.Array, num: int, alpha: float = MIXUP_ALPHA) -> jax.Array:
    """(num,) weights ``w ~ Beta(α, α)``: example n keeps the share w_n of itself."""
    return jax.random.beta(key, alpha, alpha, (num,), dtype=jnp.float32)


def mixup(
    key: jax.Array, images: jax.Array, targets: jax.Array, alpha: float = MIXUP_ALPHA
) -> tuple[jax.Array, jax.Array]:
    """Mix each example with its mirror in the batch: ``w·x + (1 − w)·x[::-1]`` (and targets)."""
    w = mixup_weights(key, images.shape[0], alpha)
    wi = w.reshape((-1,) + (1,) * (images.ndim - 1))
    wt = w.reshape((-1,) + (1,) * (targets.ndim - 1))
    return wi * images + (1.0 - wi) * images[::-1], wt * targets + (1.0 - wt) * targets[::-1]


def augment(
    key: jax.Array, images: jax.Array, labels: jax.Array, num_classes: int
) -> tuple[jax.Array, jax.Array]:
    """Flip, pad-and-crop, then mixup one training batch (the authors' order and constants).

    Args:
      key: a PRNG key; the three steps use independent keys split from it.
      images: (N, H, W, C) float, standardised.
      labels: (N,) int class indices.
      num_classes: K, the length of the targets.

    Returns:
      ``(images, targets)``: the augmented images (same shape) and soft targets (N, K) whose
      rows sum to 1.
    """
    if images.ndim != 4:
        raise ValueError(f"augment: images of shape {images.shape}; it needs (N, H, W, C)")
    k_flip, k_crop, k_mix = jax.random.split(key, 3)
    images = pad_and_crop(k_crop, flip(k_flip, images))
    targets = jax.nn.one_hot(labels, num_classes, dtype=images.dtype)
    return mixup(k_mix, images, targets)
