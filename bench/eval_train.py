"""What recording ``full_train_accuracy`` costs: the same sweep with ``eval_train`` off and on.

Chapter 1's in-premise sweeps evaluate every member on its whole training set at each
evaluation. This trains a slice of each (the same members, steps and cadence) with the record
off and on, alternating, and prints member-steps/s and the ratio, measured side by side.

    python bench/eval_train.py [--steps 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from l2lib import data, registry, train


def _rate(cfg, ds) -> float:
    t0 = time.perf_counter()
    train.train_grid(cfg, ds)
    return cfg.grid.size * max(cfg.steps_per_member()) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    for name in ("ch1_premise_mlp", "ch1_premise_fmnist", "ch1_theory_ntk"):
        base = registry.get(name, "cpu")
        steps = min(a.steps, base.duration.num_steps)
        on = dataclasses.replace(
            base,
            grid=dataclasses.replace(base.grid, seeds=base.grid.seeds[:1]),
            duration=dataclasses.replace(base.duration, num_steps=steps),
        )
        off = dataclasses.replace(on, eval_train=False)
        ds = data.load(base.data)
        for cfg in (off, on):  # compile both before timing
            train.train_grid(
                dataclasses.replace(
                    cfg, duration=dataclasses.replace(cfg.duration, num_steps=cfg.eval_every)
                ),
                ds,
            )
        rates = {False: [], True: []}
        for _ in range(a.repeats):
            for cfg in (off, on):
                rates[cfg.eval_train].append(_rate(cfg, ds))
        r_off, r_on = max(rates[False]), max(rates[True])
        print(
            f"{name}: {on.grid.size} members × {steps} steps, eval every {on.eval_every} on "
            f"{len(ds.y_test)} test / {len(ds.y_train)} train examples: {r_off:.0f} member-steps/s "
            f"without the full-train record, {r_on:.0f} with it; cost ×{r_off / r_on:.3f}"
        )


if __name__ == "__main__":
    main()
