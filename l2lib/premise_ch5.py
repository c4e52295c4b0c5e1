"""Chapter 5 inside the paper's premise: the time scale under a step schedule, with momentum and
with batch norm, on chapter 1's Fashion-MNIST setup, by chapter 1's estimator and nulls.

Design (in :mod:`l2lib.experiments`, fixed before the runs): chapter 1's grid (λ × η × seeds)
for ``CH5_STEPS`` steps with (1) the authors' step schedule, (2) momentum μ at η(1 − μ) equal
to chapter 1's η, (3) batch norm; each read against chapter 1's constant-η plain-SGD run of the
same setup truncated at ``CH5_STEPS``.

Claims (goals fixed before the runs; each t* claim with chapter 1's null, p < NULL_ALPHA):
* momentum and batch norm: chapter 1's claims (slope, per-η c, collapse, t* not set by the
  budget) with η replaced by η/(1 − μ) for momentum, and c within ``C_RATIO`` of chapter 1's c
  at the same budget;
* the step schedule: t* on L2's integrated clock λ∫₀^{t*}η dt spreads less than on the naive
  clock λη₀t* (ratio of the two spreads < 1), and collapses (spread ratio against log t* ≤
  chapter 1's ``COLLAPSE_RATIO``).
"""

from __future__ import annotations

#: c of a variant within this factor of chapter 1's c at the same budget.
C_RATIO = 2.0
