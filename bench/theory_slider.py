"""Benchmark: one live-slider recomputation of the infinite-width theory figure (paper §3).

A slider move changes λ and recomputes the closed-form MSE dynamics (`theory.mse_solution`:
eigendecomposition of Θ₀, every mode at every time, train and test outputs) for a 100-example
ReLU NTK, 100 test points, 10 classes and 200 times, jitted and warmed up. λ is a traced
argument, so moving the slider never recompiles. Prints the median wall time and whether it
meets the 10 ms budget of an interactive slider.

Also timed: the same call with Θ₀'s eigendecomposition computed once beforehand (what a
slider over λ actually needs), which skips the O(n³) ``eigh``.

Run: ``python bench/theory_slider.py`` (default float32, whatever JAX backend is present).
``OPENBLAS_NUM_THREADS`` defaults to 1 here: on a small, shared CPU the multi-threaded OpenBLAS
behind JAX's CPU ``eigh`` spin-waits for busy cores and a 100 x 100 ``eigh`` can take ~80 ms
instead of < 1 ms. Set the variable yourself to measure another setting.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from l2lib import theory  # noqa: E402

BUDGET_MS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-train", type=int, default=100)
    parser.add_argument("--num-test", type=int, default=100)
    parser.add_argument("--num-times", type=int, default=200)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--depth", type=int, default=2, help="hidden layers; k = depth + 1")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.num_train + args.num_test, 20)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    kernel = theory.relu_ntk(x, x, depth=args.depth)
    kernel_train = kernel[: args.num_train, : args.num_train]
    kernel_test_train = kernel[args.num_train :, : args.num_train]
    y_train = jax.nn.one_hot(rng.integers(0, args.num_classes, args.num_train), args.num_classes)
    times = jnp.asarray(np.logspace(-2, 5, args.num_times), jnp.float32)
    k = args.depth + 1

    eig = jnp.linalg.eigh(kernel_train)
    slider = np.logspace(-5, -1, args.repeats)

    def median_ms(train: jax.Array | tuple[jax.Array, jax.Array]) -> tuple[float, float, float]:
        def recompute(l2: float) -> tuple[jax.Array, jax.Array]:
            out = theory.mse_solution(
                train, kernel_test_train, y_train, None, None, times, jnp.float32(l2), k
            )
            return jax.block_until_ready(out)

        recompute(1e-3)  # compile
        recompute(2e-3)
        timings = []
        for l2 in slider:
            start = time.perf_counter()
            recompute(float(l2))
            timings.append(1e3 * (time.perf_counter() - start))
        return statistics.median(timings), min(timings), max(timings)

    print(
        f"mse_solution: {args.num_train} modes x {args.num_times} times, {args.num_test} test "
        f"points, {args.num_classes} classes, k={k}, float32, {jax.devices()[0].platform}, "
        f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, {args.repeats} slider moves"
    )
    for label, train in (("kernel (eigh each call)", kernel_train), ("precomputed eigh", eig)):
        median, low, high = median_ms(train)
        print(
            f"  {label:24s} median {median:6.2f} ms (min {low:.2f}, max {high:.2f}); "
            f"<= {BUDGET_MS:g} ms: {median <= BUDGET_MS}"
        )


if __name__ == "__main__":
    main()
