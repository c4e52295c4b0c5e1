"""Benchmark of the grid engine (not a test): prints ratios measured side by side in one run.

1. Model FLOP/s of a grid sweep of the CPU-scale MLP on MNIST-1D, as a fraction of the dense
   float32 matmul FLOP/s measured in the same process (goal on CPU: ≥ 0.7).
2. Member-steps/s of the vmapped grid vs the same members trained one after another
   (goal on a GPU: ≥ 10×; on a CPU, which is compute-bound, expect ≈ 1×).
3. Steps spent when members run to a λ·η·t horizon (grouped by length) vs a fixed budget long
   enough for every member, against the lower bound Σ t*ᵢ (from the cached chapter-1 sweep).

On a CPU it also runs (1) again in a child process whose host is split into one XLA device per
core (``XLA_FLAGS=--xla_force_host_platform_device_count=N``): the engine then shards members
over the cores, each training its own members, instead of splitting every small matmul over
threads. Same members, same steps, side by side in one invocation.

Usage: ``python bench/sweep.py [--members 8] [--steps 600]``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from l2lib import analysis, data, models, registry, store, train
from l2lib import config as C


def matmul_flops(n: int = 1024, reps: int = 20) -> float:
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)

    @jax.jit
    def f(a, b):
        def body(c, _):
            return c @ b * (1.0 / n), None

        return jax.lax.scan(body, a, None, length=reps)[0]

    f(a, b).block_until_ready()
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        f(a, b).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 * reps / best


def handwritten_steps_per_s(cfg: C.Experiment, ds, steps: int) -> float:
    """Steps/s of the same MLP trained by a minimal hand-written JAX loop (one member).

    The ceiling the engine is measured against on this machine: plain arrays, a fixed data
    order, cross-entropy + ½λ‖θ‖², SGD, every step inside one ``lax.scan``; no evaluation,
    no recording, no AutoL2, no divergence check, no per-member λ/η arrays.
    """
    m, bs = cfg.model, cfg.optimizer.batch_size
    dims = [int(np.prod(ds.x_train.shape[1:]))] + [m.width] * m.depth + [ds.num_classes]
    keys = jax.random.split(jax.random.PRNGKey(0), len(dims) - 1)
    params = [
        (jax.random.normal(k, (a, b)) / np.sqrt(a), jnp.zeros(b))
        for k, a, b in zip(keys, dims[:-1], dims[1:])
    ]
    x = jnp.asarray(ds.x_train.reshape(len(ds.x_train), -1), jnp.float32)
    y = jnp.asarray(ds.y_train)
    n_batches = len(x) // bs
    l2, lr = 1e-3, 0.1

    def loss(p, xb, yb):
        h = xb
        for w, b in p[:-1]:
            h = jax.nn.relu(h @ w + b)
        logits = h @ p[-1][0] + p[-1][1]
        ce = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], 1))
        return ce + 0.5 * l2 * sum(jnp.vdot(a, a) for a in jax.tree.leaves(p))

    @jax.jit
    def run(p):
        def step(p, i):
            j = (i % n_batches) * bs
            xb = jax.lax.dynamic_slice_in_dim(x, j, bs)
            yb = jax.lax.dynamic_slice_in_dim(y, j, bs)
            g = jax.grad(loss)(p, xb, yb)
            return jax.tree.map(lambda a, b: a - lr * b, p, g), None

        return jax.lax.scan(step, p, jnp.arange(steps))[0]

    jax.block_until_ready(run(params))
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        jax.block_until_ready(run(params))
        best = min(best, time.perf_counter() - t)
    return steps / best


def time_sweep(cfg: C.Experiment, ds) -> float:
    """Seconds for training every member (after a warm-up compile of the same shapes)."""
    for g in train.plan_groups(cfg):
        tr = train.GridTrainer(cfg, g, ds)
        tr.run_chunk()  # compile
    t = time.perf_counter()
    train.train_grid(cfg, ds)
    return time.perf_counter() - t


def bench_grid(
    members: int, steps: int, per_device: int | None = None
) -> tuple[C.Experiment, data.Dataset]:
    """The benchmarked grid: the CPU-scale MLP on MNIST-1D, ``members`` learning rates at one λ,
    ``steps`` steps each; all members in one group, or ``per_device`` members per device at a
    time (groups run one after another)."""
    base = registry.get("ch1_timescale_mlp", "cpu")
    ds = data.load(base.data)
    lrs = tuple(np.geomspace(0.05, 0.2, members).round(4).tolist())
    cfg = dataclasses.replace(
        base,
        grid=C.GridConfig(l2=(1e-3,), learning_rate=lrs, seeds=(0,)),
        duration=C.DurationConfig(num_steps=steps),
        eval_every=steps // 2,
        group_size=per_device
        or (max(1, members // (os.cpu_count() or 1)) if _split_host() else members),
    )
    return cfg, ds


def _split_host() -> bool:
    return "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")


def split_host_seconds(members: int, steps: int, cores: int, per_device: int) -> float:
    """Seconds of the same grid sweep in a child process with one host device per core,
    ``per_device`` members on each device at a time."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={cores}"
    ).strip()
    cmd = [sys.executable, __file__, "--child", "--members", str(members), "--steps", str(steps)]
    cmd += ["--per-device", str(per_device)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return float(next(ln for ln in out.splitlines() if ln.startswith("SECONDS ")).split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--per-device", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cfg, ds = bench_grid(args.members, args.steps, args.per_device)
    if args.child:  # one number for the parent: seconds of the grid sweep on this process's devices
        print(f"SECONDS {time_sweep(cfg, ds)!r}")
        return
    dev = jax.devices()[0]
    print(f"device: {dev.platform} {dev.device_kind}  jax {jax.__version__}")

    peak = matmul_flops()
    secs = time_sweep(cfg, ds)
    fwd = models.flops_per_example(cfg.model, ds.x_train.shape[1:], ds.num_classes)
    member_steps = args.members * args.steps
    model_flops = 3 * fwd * cfg.optimizer.batch_size * member_steps / secs
    print(f"dense matmul:          {peak / 1e9:8.1f} GFLOP/s")
    print(
        f"grid sweep (vmapped):  {model_flops / 1e9:8.1f} GFLOP/s  ({member_steps / secs:.0f} member-steps/s)"
    )
    print(f"  fraction of matmul:  {model_flops / peak:8.2f}   (goal on CPU >= 0.7)")
    hand = handwritten_steps_per_s(cfg, ds, args.steps * 4)
    hand_flops = 3 * fwd * cfg.optimizer.batch_size * hand
    print(
        f"hand-written loop:     {hand_flops / 1e9:8.1f} GFLOP/s  ({hand:.0f} steps/s, one member)"
    )
    print(f"  fraction of matmul:  {hand_flops / peak:8.2f}   (the ceiling at these layer sizes)")
    print(f"  engine / hand-written:{model_flops / hand_flops:7.2f}")

    cores = os.cpu_count() or 1
    if dev.platform == "cpu" and cores > 1:
        # Members per device at a time: all of a core's share in one vmapped batch, or fewer
        # in groups one after another (a smaller batch keeps a core's working set in cache).
        per_core = max(1, args.members // cores)
        for per_device in sorted({per_core, 2, 1}, reverse=True):
            secs_split = split_host_seconds(args.members, args.steps, cores, per_device)
            split_flops = 3 * fwd * cfg.optimizer.batch_size * member_steps / secs_split
            print(
                f"members over {cores} host devices, {per_device} per device at a time: "
                f"{split_flops / 1e9:5.1f} GFLOP/s  ({member_steps / secs_split:.0f} member-steps/s)"
            )
            print(f"  fraction of matmul:  {split_flops / peak:8.3f}   (goal on CPU >= 0.7)")
            print(f"  split / one device:  {secs / secs_split:8.2f}x")

    seq = dataclasses.replace(cfg, group_size=1)
    secs_seq = time_sweep(seq, ds)
    print(f"one after another:     {member_steps / secs_seq:8.0f} member-steps/s")
    print(f"  vmapped / sequential:{secs_seq / secs:8.2f}x   (goal on GPU >= 10x)")

    full = registry.get("ch1_timescale_mlp", "cpu")
    st = store.Store()
    if st.exists(full):
        res = st.load(full).arrays
        pk = analysis.peaks(res)
        steps = np.array(full.steps_per_member())
        lower = np.nansum(pk.t_star)
        horizon = sum(len(g) * steps[g].max() for g in train.plan_groups(full))
        fixed = len(steps) * steps.max()
        print(f"steps, {full.name} ({len(steps)} members): lower bound sum t* = {lower:.3g}")
        print(
            f"  horizon λ·η·t = {full.duration.horizon} (grouped): {horizon:.3g}  = {horizon / lower:.2f}x bound"
        )
        print(f"  fixed budget for all:                 {fixed:.3g}  = {fixed / lower:.2f}x bound")
    else:
        print(
            "steps vs Σ t*: no cached ch1_timescale_mlp run; run `python -m l2lib sweep ch1_timescale_mlp --scale cpu`"
        )


if __name__ == "__main__":
    main()
