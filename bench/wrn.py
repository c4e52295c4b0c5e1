"""Benchmark of the authors' WRN-28-10 in the grid engine (not a test): steps/s and memory.

Trains the authors' Figure 1a member (WRN-28-10 on CIFAR-10-shaped random data, batch 128,
momentum 0.9, flip + crop + mixup, step schedule) through :class:`l2lib.train.GridTrainer`, the
same compiled chunk a paper-scale sweep runs, on whatever device JAX finds, and prints:

- compile time, and steady-state training steps/s (per member and summed over members) with
  a one-batch test set, so that evaluation costs nothing;
- the time of one evaluation on the full test set (10 000 images in batches of 1000), with
  ``--eval-images``;
- the peak device memory (``memory_stats()['peak_bytes_in_use']``; on a CPU, which has no such
  counter, the process's peak RSS), and XLA's own memory analysis of the compiled chunk at the
  requested batch (arguments + temporaries; available on every backend, without running it);
- with ``--table``, the estimated wall time of every paper-scale WRN experiment at the measured
  rate (member-steps / (steps/s), plus one test evaluation per ``eval_every`` steps).

On a CPU the default is a *reduced* run (batch 8, 2 timed chunks of 2 steps) that says so: the
numbers show the engine works and give the memory analysis at batch 128, not GPU speed.

Usage: ``python bench/wrn.py [--batch 128] [--members 1] [--steps 10] [--chunks 3]
[--eval-images 10000] [--table]``
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import resource
import time

import jax
import numpy as np

from l2lib import config as C
from l2lib import data, models, registry, train
from l2lib.paper import authors

#: The paper-scale experiments that train the authors' WRN-28-10.
WRN_EXPERIMENTS = tuple(authors.SETUPS)


def random_cifar(num_train: int, num_test: int, seed: int = 0) -> data.Dataset:
    """CIFAR-10-shaped standardised noise (the speed of a step does not depend on the pixels)."""
    rng = np.random.default_rng(seed)
    return data.Dataset(
        rng.normal(size=(num_train, 32, 32, 3)).astype(np.float32),
        rng.integers(0, 10, num_train).astype(np.int32),
        rng.normal(size=(num_test, 32, 32, 3)).astype(np.float32),
        rng.integers(0, 10, num_test).astype(np.int32),
        10,
        "cifar10",
    )


def bench_config(batch: int, members: int, steps: int, eval_batch: int) -> C.Experiment:
    """The Figure 1a member at the given batch, ``members`` copies (seeds), chunks of ``steps``."""
    cfg = authors.wrn_budget_fixed()
    return dataclasses.replace(
        cfg,
        optimizer=dataclasses.replace(cfg.optimizer, batch_size=batch),
        grid=C.GridConfig(
            l2=cfg.grid.l2[:1], learning_rate=cfg.grid.learning_rate, seeds=tuple(range(members))
        ),
        duration=C.DurationConfig(num_steps=steps * 1000, max_steps=steps * 1000),
        eval_every=steps,
        eval_batch_size=eval_batch,
        group_size=members,
    )


def peak_memory() -> tuple[str, float]:
    """(what was measured, GiB): the device's peak bytes in use, else this process's peak RSS."""
    stats = jax.local_devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return "device peak_bytes_in_use", stats["peak_bytes_in_use"] / 2**30
    return "process peak RSS (CPU: no device counter)", (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30
    )


def compiled_memory(cfg: C.Experiment, num_train: int, num_test: int) -> dict[str, float]:
    """XLA's memory analysis (GiB) of the chunk for ``cfg``, compiled for this backend's first
    device from shapes alone (nothing is allocated or run)."""
    prog = train._program(cfg, (32, 32, 3), 10)
    n = cfg.grid.size
    state = jax.eval_shape(
        prog.init,
        jax.ShapeDtypeStruct((n,), np.uint32),
        jax.ShapeDtypeStruct((n,), np.float32),
        jax.ShapeDtypeStruct((n,), np.float32),
        jax.ShapeDtypeStruct((n,), np.int32),
    )
    b = min(cfg.eval_batch_size, num_test)
    chunks = math.ceil(num_test / b)
    args = (
        jax.ShapeDtypeStruct((num_train, 32, 32, 3), np.float32),
        jax.ShapeDtypeStruct((num_train,), np.int32),
        jax.ShapeDtypeStruct((chunks, b, 32, 32, 3), np.float32),
        jax.ShapeDtypeStruct((chunks, b), np.int32),
        jax.ShapeDtypeStruct((chunks, b), np.float32),
    )
    orders = jax.tree.map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), train.no_orders(cfg, n, num_train)
    )
    m = prog.chunk.lower(state, orders, *args).compile().memory_analysis()
    gib = 2**30
    return {
        "arguments": m.argument_size_in_bytes / gib,
        "outputs": m.output_size_in_bytes / gib,
        "temporaries": m.temp_size_in_bytes / gib,
        "aliased (donated state)": m.alias_size_in_bytes / gib,
        "total": (
            m.argument_size_in_bytes
            + m.output_size_in_bytes
            - m.alias_size_in_bytes
            + m.temp_size_in_bytes
        )
        / gib,
    }


def time_chunks(cfg: C.Experiment, ds: data.Dataset, chunks: int) -> tuple[float, float]:
    """(seconds of the first chunk, incl. compile; best seconds of a later chunk)."""
    trainer = train.GridTrainer(cfg, list(range(cfg.grid.size)), ds)
    t = time.perf_counter()
    trainer.run_chunk()  # run_chunk reads its metrics back: every chunk is synchronised
    first = time.perf_counter() - t
    best = math.inf
    for _ in range(chunks):
        t = time.perf_counter()
        trainer.run_chunk()
        best = min(best, time.perf_counter() - t)
    return first, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    on_cpu = jax.default_backend() == "cpu"
    ap.add_argument("--batch", type=int, default=8 if on_cpu else authors.BATCH_SIZE)
    ap.add_argument("--members", type=int, default=1, help="members vmapped on the device")
    ap.add_argument("--steps", type=int, default=2 if on_cpu else 20, help="steps per chunk")
    ap.add_argument("--chunks", type=int, default=2 if on_cpu else 5, help="timed chunks")
    ap.add_argument(
        "--eval-images",
        type=int,
        default=0 if on_cpu else 10_000,
        help="also time one evaluation on this many test images (0: skip)",
    )
    ap.add_argument("--no-memory-analysis", action="store_true")
    ap.add_argument("--table", action="store_true", help="estimate every paper WRN experiment")
    args = ap.parse_args()

    dev = jax.devices()[0]
    print(
        f"device: {dev.platform} {dev.device_kind} (x{jax.device_count()})  jax {jax.__version__}"
    )
    full = bench_config(authors.BATCH_SIZE, args.members, args.steps, authors.EVAL_BATCH_SIZE)
    model = C.ModelConfig(**dataclasses.asdict(full.model))
    flops = 3 * models.flops_per_example(model, (32, 32, 3), 10)
    print(
        f"model: WRN-{model.depth}-{model.width}, {flops / 1e9:.1f} GFLOP per example per "
        "training step (3x the forward pass)"
    )
    if args.batch != authors.BATCH_SIZE:
        print(
            f"REDUCED RUN: batch {args.batch} instead of {authors.BATCH_SIZE}, "
            f"{args.chunks} timed chunks of {args.steps} steps"
            + (" (this is a CPU: the speed says nothing about a GPU)" if on_cpu else "")
        )

    cfg = bench_config(args.batch, args.members, args.steps, authors.EVAL_BATCH_SIZE)
    num_train = max(4 * args.batch, 512)
    ds = random_cifar(num_train, args.batch)  # a one-batch test set: evaluation is ~free
    first, best = time_chunks(cfg, ds, args.chunks)
    steps_per_s = args.steps / best
    print(f"compile + first chunk: {first:.1f} s")
    print(
        f"training: {steps_per_s:.3g} steps/s per member, "
        f"{steps_per_s * args.members:.3g} member-steps/s, "
        f"{steps_per_s * args.members * args.batch:.3g} images/s, "
        f"{steps_per_s * args.members * args.batch * flops / 1e12:.3g} TFLOP/s "
        f"(batch {args.batch}, {args.members} member(s))"
    )
    what, gib = peak_memory()
    print(f"peak memory: {gib:.2f} GiB ({what})")

    eval_s = None
    if args.eval_images:
        ds_eval = random_cifar(num_train, args.eval_images)
        _, with_eval = time_chunks(cfg, ds_eval, args.chunks)
        eval_s = max(with_eval - best, 0.0)
        print(f"one evaluation on {args.eval_images} test images: {eval_s:.2f} s")
        what, gib = peak_memory()
        print(f"peak memory with the full test set: {gib:.2f} GiB ({what})")

    if not args.no_memory_analysis:
        test_images = args.eval_images or 10_000
        mem = compiled_memory(full, 50_000, test_images)
        print(
            f"XLA memory analysis of the chunk at batch {authors.BATCH_SIZE}, {args.members} "
            f"member(s), 50 000 training and {test_images} test images on this backend:"
        )
        for k, v in mem.items():
            print(f"  {k}: {v:.2f} GiB")

    if args.table:
        per_eval = eval_s if eval_s is not None else 10_000 / (3 * args.batch * steps_per_s)
        how = "measured" if eval_s is not None else "estimated as 1/3 of a training image"
        print(
            f"\nESTIMATES at {steps_per_s * args.members:.3g} member-steps/s and "
            f"{per_eval:.3g} s per evaluation ({how}); members run {args.members} at a time "
            f"on this device ({dev.device_kind}, batch {args.batch}):"
        )
        print("| experiment | members | member-steps | evaluations | estimated hours |")
        print("|---|---|---|---|---|")
        for name in WRN_EXPERIMENTS:
            e = registry.get(name, "paper")
            steps = e.steps_per_member()
            evals = sum(s // e.eval_every for s in steps)
            hours = (
                sum(steps) / (steps_per_s * args.members) + evals * per_eval / args.members
            ) / 3600
            print(f"| {name} | {len(steps)} | {sum(steps):,} | {evals:,} | {hours:,.1f} |")


if __name__ == "__main__":
    main()
