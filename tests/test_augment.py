"""l2lib.augment: the authors' flip, pad-and-crop and mixup, on the device."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from l2lib import augment


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(64, 8, 8, 3)).astype(np.float32)


def test_flip_mirrors_about_half_of_the_images_left_right(images):
    out = np.asarray(augment.flip(jax.random.PRNGKey(1), jnp.asarray(images)))
    assert out.shape == images.shape
    same = [np.array_equal(o, x) for o, x in zip(out, images)]
    mirrored = [np.array_equal(o, x[:, ::-1]) for o, x in zip(out, images)]
    assert all(s != m for s, m in zip(same, mirrored))  # each image is one or the other
    assert 20 <= sum(mirrored) <= 44  # Binomial(64, ½): mean 32, sd 4


def test_crop_windows_of_the_zero_padded_image_at_offsets_0_to_7(images):
    key = jax.random.PRNGKey(2)
    out = np.asarray(augment.pad_and_crop(key, jnp.asarray(images)))
    assert out.shape == images.shape and out.dtype == np.float32
    corners = np.asarray(augment.crop_offsets(key, len(images)))
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)))
    for o, p, (i, j) in zip(out, padded, corners):
        np.testing.assert_array_equal(o, p[i : i + 8, j : j + 8])
    # The authors' randint(0, 2·pad): 0 … 7, never 8 (a shift of −4 … +3 pixels).
    many = np.asarray(augment.crop_offsets(jax.random.PRNGKey(3), 4000))
    assert many.min() == 0 and many.max() == 7
    assert set(np.unique(many)) == set(range(8))


def test_mixup_mixes_each_example_with_its_mirror_in_the_batch(images):
    key = jax.random.PRNGKey(4)
    targets = jax.nn.one_hot(np.arange(64) % 10, 10)
    x, y = augment.mixup(key, jnp.asarray(images), targets)
    w = np.asarray(augment.mixup_weights(key, 64))
    assert w.shape == (64,) and (w >= 0).all() and (w <= 1).all()
    np.testing.assert_allclose(
        x, w[:, None, None, None] * images + (1 - w[:, None, None, None]) * images[::-1], atol=1e-6
    )
    t = np.asarray(targets)
    np.testing.assert_allclose(y, w[:, None] * t + (1 - w[:, None]) * t[::-1], atol=1e-6)
    np.testing.assert_allclose(np.asarray(y).sum(axis=1), 1.0, atol=1e-6)


def test_mixup_weights_are_beta_1_1_that_is_uniform():
    w = np.asarray(augment.mixup_weights(jax.random.PRNGKey(5), 20_000))
    assert abs(w.mean() - 0.5) < 0.01
    assert abs(w.var() - 1 / 12) < 0.005
    hist, _ = np.histogram(w, bins=10, range=(0, 1))
    assert hist.min() > 1800 and hist.max() < 2200  # flat: 2000 ± 4.5 sd


def test_augment_shapes_ranges_and_soft_targets(images):
    key = jax.random.PRNGKey(6)
    labels = jnp.asarray(np.arange(64) % 10, jnp.int32)
    x, y = augment.augment(key, jnp.asarray(images), labels, 10)
    assert x.shape == images.shape and y.shape == (64, 10)
    # Every pixel is a convex combination of two pixels of the padded images (or zeros).
    assert float(jnp.max(jnp.abs(x))) <= float(np.abs(images).max()) + 1e-6
    np.testing.assert_allclose(np.asarray(y).sum(axis=1), 1.0, atol=1e-6)
    # The targets carry exactly the mixup weights drawn from the third key.
    w = np.asarray(augment.mixup_weights(jax.random.split(key, 3)[2], 64))
    onehot = np.eye(10, dtype=np.float32)[np.arange(64) % 10]
    np.testing.assert_allclose(y, w[:, None] * onehot + (1 - w[:, None]) * onehot[::-1], atol=1e-6)
    again = augment.augment(key, jnp.asarray(images), labels, 10)
    np.testing.assert_array_equal(x, again[0])  # a pure function of the key
    other = augment.augment(jax.random.PRNGKey(7), jnp.asarray(images), labels, 10)
    assert not np.array_equal(x, other[0])


def test_augment_refuses_non_images():
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        augment.augment(jax.random.PRNGKey(0), jnp.zeros((4, 40)), jnp.zeros(4, jnp.int32), 10)
