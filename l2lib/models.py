"""The networks: an MLP, a plain CNN and the authors' pre-activation Wide ResNet, in Flax NNX.

Every model holds only ``nnx.Param`` variables. Batch norm always normalises with the statistics
of the batch it is given (the authors' ``stax.BatchNorm`` does the same, also at evaluation), so
it keeps no running averages: ``graphdef, params = nnx.split(model)`` and
``nnx.merge(graphdef, params)(x)`` is a pure function of ``params``.

Parameterizations (``ModelConfig.parameterization``), for a dense or convolution layer with
fan-in ``n`` (``n = in_features`` or ``kernel_size**rank · in_channels``):

- ``standard``: ``y = x·W + b`` with ``W ~ N(0, 1/n)`` (variance scaling 1.0, fan-in, *normal*,
  not truncated: the init of the authors' ``neural_tangents.stax`` layers) and ``b = 0``.
- ``ntk``: ``y = x·W/√n + b`` with ``W ~ N(0, 1)`` and ``b = 0``. The bias is added unscaled
  (β = 1 in neural-tangents' notation ``β·b``; since it starts at 0 only its learning rate is
  affected). The function at init has the same distribution as ``standard``; the gradients do
  not.

A bias-free ReLU MLP (or CNN without batch norm) with ``k`` weight layers is k-homogeneous in
its parameters, ``f(x; aθ) = a^k f(x; θ)`` (paper §3), in both parameterizations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from l2lib.config import ModelConfig

__all__ = [
    "BN_EPSILON",
    "CNN",
    "CNN_LAYERS_PER_STAGE",
    "KERNEL_SIZE",
    "MLP",
    "WRN_STEM_CHANNELS",
    "BatchNorm",
    "build",
    "Conv",
    "count_params",
    "Dense",
    "flops_per_example",
    "WideResNet",
    "WideResNetBlock",
]

#: Batch-norm ε in ``(x − μ)/√(σ² + ε)``: the default of the authors' ``stax.BatchNorm``.
BN_EPSILON = 1e-5
#: Spatial size of every convolution kernel (3×3 in 2-D, 3 in 1-D).
KERNEL_SIZE = 3
#: CNN: convolution layers per stage; each new stage halves the resolution (stride 2) and
#: doubles the channels.
CNN_LAYERS_PER_STAGE = 2
#: Wide ResNet: channels of the stem convolution, base channels of the three groups (times the
#: widening factor) and the stride of each group's first block.
WRN_STEM_CHANNELS = 16
WRN_GROUP_CHANNELS = (16, 32, 64)
WRN_GROUP_STRIDES = (1, 2, 2)

_ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
}


def _init_std_and_multiplier(fan_in: int, parameterization: str) -> tuple[float, float]:
    """(std of the stored weights, factor applied to x·W) for one layer."""
    if parameterization == "ntk":
        return 1.0, 1.0 / math.sqrt(fan_in)
    return 1.0 / math.sqrt(fan_in), 1.0


def _normal(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """i.i.d. N(0, 1) of the given shape (float32).

    Drawn as the first ``prod(shape)`` entries of a power-of-two-long draw: eagerly, JAX compiles
    one sampling program per distinct length, so bucketing lets every layer of every model in a
    process share a handful of them (building a WRN otherwise compiles one per layer shape).
    """
    size = math.prod(shape)
    bucket = 1 << max(size - 1, 0).bit_length()
    return jax.random.normal(key, (bucket,), jnp.float32)[:size].reshape(shape)


def _channel_bias(bias: jax.Array, ndim: int) -> jax.Array:
    """A per-channel vector shaped to broadcast over (B, ..., C) without rank promotion."""
    return bias.reshape((1,) * (ndim - 1) + bias.shape)


class Dense(nnx.Module):
    """``y = m·(x·W) + b`` with ``m`` = 1 (standard) or 1/√fan_in (ntk); see the module doc."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        use_bias: bool,
        parameterization: str,
        rngs: nnx.Rngs,
    ) -> None:
        std, self.multiplier = _init_std_and_multiplier(in_features, parameterization)
        self.kernel = nnx.Param(std * _normal(rngs.params(), (in_features, out_features)))
        self.bias = nnx.Param(jnp.zeros((out_features,), jnp.float32)) if use_bias else None

    def __call__(self, x: jax.Array) -> jax.Array:
        y = x @ self.kernel[...]
        if self.multiplier != 1.0:
            y = y * self.multiplier
        if self.bias is not None:
            y = y + _channel_bias(self.bias[...], y.ndim)
        return y


class Conv(nnx.Module):
    """A 'SAME'-padded convolution over 1 or 2 spatial axes, channels last (NWC / NHWC).

    Same parameterizations as :class:`Dense` with fan-in ``kernel_size**rank · in_channels``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        spatial_rank: int,
        stride: int = 1,
        use_bias: bool,
        parameterization: str,
        rngs: nnx.Rngs,
    ) -> None:
        if spatial_rank not in (1, 2):
            raise ValueError(f"spatial_rank={spatial_rank}: only 1-D and 2-D inputs")
        shape = (KERNEL_SIZE,) * spatial_rank + (in_channels, out_channels)
        fan_in = KERNEL_SIZE**spatial_rank * in_channels
        std, self.multiplier = _init_std_and_multiplier(fan_in, parameterization)
        self.kernel = nnx.Param(std * _normal(rngs.params(), shape))
        self.bias = nnx.Param(jnp.zeros((out_channels,), jnp.float32)) if use_bias else None
        self.stride = stride
        self.spatial_rank = spatial_rank

    def __call__(self, x: jax.Array) -> jax.Array:
        dims = ("NWC", "WIO", "NWC") if self.spatial_rank == 1 else ("NHWC", "HWIO", "NHWC")
        y = jax.lax.conv_general_dilated(
            x,
            self.kernel[...],
            window_strides=(self.stride,) * self.spatial_rank,
            padding="SAME",
            dimension_numbers=dims,
        )
        if self.multiplier != 1.0:
            y = y * self.multiplier
        if self.bias is not None:
            y = y + _channel_bias(self.bias[...], y.ndim)
        return y


class BatchNorm(nnx.Module):
    """Batch norm on the current batch's statistics, always (no running averages).

    ``y = γ·(x − μ_B)/√(σ²_B + ε) + β`` with μ_B, σ²_B the mean and (biased) variance over every
    axis but the last (channel) one, γ initialised to 1 and β to 0 (both ``nnx.Param``).
    """

    def __init__(self, num_features: int, *, epsilon: float = BN_EPSILON) -> None:
        self.scale = nnx.Param(jnp.ones((num_features,), jnp.float32))
        self.bias = nnx.Param(jnp.zeros((num_features,), jnp.float32))
        self.epsilon = epsilon

    def __call__(self, x: jax.Array) -> jax.Array:
        axes = tuple(range(x.ndim - 1))
        mean = jnp.mean(x, axis=axes, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
        y = (x - mean) * jax.lax.rsqrt(var + self.epsilon)
        return y * _channel_bias(self.scale[...], x.ndim) + _channel_bias(self.bias[...], x.ndim)


class MLP(nnx.Module):
    """``depth`` hidden layers of ``width`` units (Dense → [BatchNorm] → activation), then a
    dense head. Flattens its input."""

    def __init__(self, cfg: ModelConfig, in_features: int, num_classes: int, rngs: nnx.Rngs):
        dims = [in_features] + [cfg.width] * cfg.depth
        kw = dict(use_bias=cfg.use_bias, parameterization=cfg.parameterization, rngs=rngs)
        self.hidden = nnx.List([Dense(a, b, **kw) for a, b in zip(dims[:-1], dims[1:])])
        self.norms = nnx.List(
            [BatchNorm(cfg.width) for _ in range(cfg.depth)] if cfg.batch_norm else []
        )
        self.head = Dense(dims[-1], num_classes, **kw)
        self.activation = cfg.activation

    def __call__(self, x: jax.Array) -> jax.Array:
        act = _ACTIVATIONS[self.activation]
        h = x.reshape(x.shape[0], -1)
        for i, layer in enumerate(self.hidden):
            h = layer(h)
            if len(self.norms):
                h = self.norms[i](h)
            h = act(h)
        return self.head(h)


def _conv_layout(input_shape: Sequence[int]) -> tuple[int, int, bool]:
    """(spatial rank, input channels, whether to append a channel axis) for a conv net.

    ``(L,)`` is a 1-channel 1-D signal (MNIST-1D), ``(L, C)`` a 1-D signal with C channels and
    ``(H, W, C)`` an image.
    """
    if len(input_shape) == 1:
        return 1, 1, True
    if len(input_shape) in (2, 3):
        return len(input_shape) - 1, int(input_shape[-1]), False
    raise ValueError(
        f"input_shape={tuple(input_shape)}: a conv net takes (L,), (L, C) or (H, W, C)"
    )


def _cnn_plan(cfg: ModelConfig) -> list[tuple[int, int]]:
    """(channels, stride) of each CNN conv layer.

    Layer ``i`` belongs to stage ``s = i // CNN_LAYERS_PER_STAGE``, has ``width·2^s`` channels,
    and the first layer of every stage after the first has stride 2. E.g. depth 4, width 32:
    32, 32, 64 (stride 2), 64.
    """
    plan = []
    for i in range(cfg.depth):
        stage, pos = divmod(i, CNN_LAYERS_PER_STAGE)
        plan.append((cfg.width * 2**stage, 2 if stage > 0 and pos == 0 else 1))
    return plan


def _global_average_pool(x: jax.Array) -> jax.Array:
    return jnp.mean(x, axis=tuple(range(1, x.ndim - 1)))


class CNN(nnx.Module):
    """Conv 3×3 → [BatchNorm] → activation, ``depth`` times (see :func:`_cnn_plan` for the
    channels and strides), then a dense head on the globally average-pooled features
    (``cnn_head='pool'``) or on the flattened feature map (``cnn_head='flatten'``)."""

    def __init__(
        self, cfg: ModelConfig, input_shape: Sequence[int], num_classes: int, rngs: nnx.Rngs
    ):
        rank, cin, self.add_channel_axis = _conv_layout(input_shape)
        kw = dict(use_bias=cfg.use_bias, parameterization=cfg.parameterization, rngs=rngs)
        convs, norms = [], []
        spatial = list(input_shape[:rank])
        for cout, stride in _cnn_plan(cfg):
            convs.append(Conv(cin, cout, spatial_rank=rank, stride=stride, **kw))
            if cfg.batch_norm:
                norms.append(BatchNorm(cout))
            cin = cout
            spatial = [-(-n // stride) for n in spatial]
        self.convs = nnx.List(convs)
        self.norms = nnx.List(norms)
        self.flatten = cfg.cnn_head == "flatten"
        head_in = cin * int(np.prod(spatial)) if self.flatten else cin
        self.head = Dense(head_in, num_classes, **kw)
        self.activation = cfg.activation

    def __call__(self, x: jax.Array) -> jax.Array:
        act = _ACTIVATIONS[self.activation]
        h = x[..., None] if self.add_channel_axis else x
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if len(self.norms):
                h = self.norms[i](h)
            h = act(h)
        if self.flatten:
            return self.head(h.reshape(h.shape[0], -1))
        return self.head(_global_average_pool(h))


class WideResNetBlock(nnx.Module):
    """Pre-activation block: ``main(x) + shortcut(x)`` with
    ``main = BN → act → conv3×3(stride) → BN → act → conv3×3`` and ``shortcut`` the identity,
    or (first block of a group) a 3×3 convolution with the block's stride applied to the *raw*
    input x, as in the authors' ``WideResnetBlocknt``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int,
        conv_shortcut: bool,
        spatial_rank: int,
        cfg: ModelConfig,
        rngs: nnx.Rngs,
    ):
        kw = dict(
            spatial_rank=spatial_rank,
            use_bias=cfg.use_bias,
            parameterization=cfg.parameterization,
            rngs=rngs,
        )
        self.norm1 = BatchNorm(in_channels)
        self.conv1 = Conv(in_channels, out_channels, stride=stride, **kw)
        self.norm2 = BatchNorm(out_channels)
        self.conv2 = Conv(out_channels, out_channels, **kw)
        self.shortcut = (
            Conv(in_channels, out_channels, stride=stride, **kw) if conv_shortcut else None
        )
        self.activation = cfg.activation

    def __call__(self, x: jax.Array) -> jax.Array:
        act = _ACTIVATIONS[self.activation]
        h = self.conv1(act(self.norm1(x)))
        h = self.conv2(act(self.norm2(h)))
        return h + (x if self.shortcut is None else self.shortcut(x))


class WideResNet(nnx.Module):
    """The authors' WRN-(6n+4)-k (``google/autol2``, ``WideResnetnt``).

    Stem conv3×3 with 16 channels; three groups of ``n = (depth − 4)/6`` blocks with 16k, 32k
    and 64k channels and strides 1, 2, 2, the first block of each group with a conv shortcut;
    head BN → act → global average pool → dense. The authors pool 8×8 with a VALID window, which
    at 32×32 input (an 8×8 map) is the global average pool used here; the global pool also
    works at 28×28.
    """

    def __init__(
        self, cfg: ModelConfig, input_shape: Sequence[int], num_classes: int, rngs: nnx.Rngs
    ):
        rank, cin, self.add_channel_axis = _conv_layout(input_shape)
        blocks_per_group = (cfg.depth - 4) // 6
        self.stem = Conv(
            cin,
            WRN_STEM_CHANNELS,
            spatial_rank=rank,
            use_bias=cfg.use_bias,
            parameterization=cfg.parameterization,
            rngs=rngs,
        )
        blocks, cin = [], WRN_STEM_CHANNELS
        for base, stride in zip(WRN_GROUP_CHANNELS, WRN_GROUP_STRIDES):
            cout = base * cfg.width
            for b in range(blocks_per_group):
                first = b == 0
                blocks.append(
                    WideResNetBlock(
                        cin,
                        cout,
                        stride=stride if first else 1,
                        conv_shortcut=first,
                        spatial_rank=rank,
                        cfg=cfg,
                        rngs=rngs,
                    )
                )
                cin = cout
        self.blocks = nnx.List(blocks)
        self.norm = BatchNorm(cin)
        self.head = Dense(
            cin,
            num_classes,
            use_bias=cfg.use_bias,
            parameterization=cfg.parameterization,
            rngs=rngs,
        )
        self.activation = cfg.activation

    def __call__(self, x: jax.Array) -> jax.Array:
        h = x[..., None] if self.add_channel_axis else x
        h = self.stem(h)
        for block in self.blocks:
            h = block(h)
        h = _ACTIVATIONS[self.activation](self.norm(h))
        return self.head(_global_average_pool(h))


def build(
    cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int, rngs: nnx.Rngs
) -> nnx.Module:
    """The network ``cfg`` describes, for inputs of shape ``(B, *input_shape)``.

    Args:
      cfg: the model config (kind, width, depth, biases, parameterization, batch norm,
        activation).
      input_shape: one example's shape, e.g. ``(40,)`` (MNIST-1D) or ``(32, 32, 3)`` (CIFAR-10).
      num_classes: outputs of the dense head (the logits).
      rngs: ``nnx.Rngs``; weights are drawn from its ``params`` stream (or ``default``).

    Returns:
      An ``nnx.Module`` mapping ``(B, *input_shape)`` to logits ``(B, num_classes)``; it holds
      only ``nnx.Param`` variables.
    """
    input_shape = tuple(int(d) for d in input_shape)
    if cfg.kind == "mlp":
        return MLP(cfg, math.prod(input_shape), num_classes, rngs)
    if cfg.kind == "cnn":
        return CNN(cfg, input_shape, num_classes, rngs)
    if cfg.kind == "wrn":
        return WideResNet(cfg, input_shape, num_classes, rngs)
    raise ValueError(f"model.kind={cfg.kind!r}: unknown model")


def count_params(model: nnx.Module) -> int:
    """Number of scalar parameters (every ``nnx.Param`` entry)."""
    return int(sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param))))


def _conv_flops(spatial: Sequence[int], cin: int, cout: int, stride: int) -> tuple[int, list[int]]:
    """(2·multiply-adds of one 'SAME' KERNEL_SIZE conv, output spatial shape)."""
    out = [math.ceil(s / stride) for s in spatial]
    return 2 * math.prod(out) * KERNEL_SIZE ** len(spatial) * cin * cout, out


def flops_per_example(cfg: ModelConfig, input_shape: tuple[int, ...], num_classes: int) -> int:
    """Forward-pass FLOPs per example of the dense and convolution layers: 2 × multiply-adds.

    A dense layer ``n → m`` counts ``2·n·m``; a convolution counts
    ``2·(output positions)·k^rank·C_in·C_out``. Biases, activations, batch norm and pooling are
    left out (they are a few per activation, against hundreds for a 3×3 conv). A training step
    costs about 3× this (forward + backward) per example.
    """
    input_shape = tuple(int(d) for d in input_shape)
    if cfg.kind == "mlp":
        dims = [math.prod(input_shape)] + [cfg.width] * cfg.depth + [num_classes]
        return int(sum(2 * a * b for a, b in zip(dims[:-1], dims[1:])))
    rank, cin, _ = _conv_layout(input_shape)
    spatial = list(input_shape[:rank])
    total = 0
    if cfg.kind == "cnn":
        for cout, stride in _cnn_plan(cfg):
            f, spatial = _conv_flops(spatial, cin, cout, stride)
            total, cin = total + f, cout
        if cfg.cnn_head == "flatten":
            cin *= int(np.prod(spatial))
    elif cfg.kind == "wrn":
        f, spatial = _conv_flops(spatial, cin, WRN_STEM_CHANNELS, 1)
        total, cin = total + f, WRN_STEM_CHANNELS
        for base, stride in zip(WRN_GROUP_CHANNELS, WRN_GROUP_STRIDES):
            cout = base * cfg.width
            for b in range((cfg.depth - 4) // 6):
                s = stride if b == 0 else 1
                f1, out = _conv_flops(spatial, cin, cout, s)
                f2, _ = _conv_flops(out, cout, cout, 1)
                total += f1 + f2 + (f1 if b == 0 else 0)  # the conv shortcut costs as conv1
                spatial, cin = out, cout
    else:
        raise ValueError(f"model.kind={cfg.kind!r}: unknown model")
    return int(total + 2 * cin * num_classes)
