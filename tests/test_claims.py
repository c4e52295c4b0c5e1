"""l2lib.claims: a claim's line, and the runner behind ``python -m l2lib check``."""

from __future__ import annotations

import pytest

from l2lib import claims as claims_lib
from l2lib import registry, store
from l2lib.claims import Claim


def test_a_claims_line_says_verdict_chapter_measurement_goal_null_and_premise():
    c = Claim("ch1", "slope", False, "-0.71", "-1 ± 0.15", null_p=0.2, premise="8 of 9")
    assert c.line().startswith("FAIL  ch1  slope")
    assert "-0.71   (goal: -1 ± 0.15)" in c.line()
    assert c.line().endswith("[null p = 0.2000]   [8 of 9]")
    assert Claim("ch4", "x", True, "m", "g").line().endswith("(goal: g)")


def test_as_chapter_moves_claims_without_changing_them():
    cs = [Claim("ch1", "a", True, "m", "g", null_p=0.01)]
    (moved,) = claims_lib.as_chapter(iter(cs), "ch5")
    assert moved.chapter == "ch5" and moved.null_p == 0.01 and moved.name == "a"


@pytest.fixture
def three_sources(monkeypatch):
    def ok(name, scale, root):
        yield Claim("ch1", f"{name} holds", True, "1", "1")

    def missing(name, scale, root):
        raise store.MissingEntryError(f"no run of {name}: produce it with `sweep {name}`")
        yield  # pragma: no cover

    def unfit(name, scale, root):
        raise ValueError("too few usable members to fit")
        yield  # pragma: no cover

    monkeypatch.setattr(
        registry,
        "_CLAIMS",
        [
            registry.ClaimSource("ch1", "a", ok),
            registry.ClaimSource("ch2", "b", missing),
            registry.ClaimSource("ch3", "c", unfit),
        ],
    )


def test_run_turns_a_missing_run_and_an_impossible_fit_into_failed_claims(three_sources):
    out = claims_lib.run("ci")
    assert [(c.chapter, c.name, c.passed) for c in out] == [
        ("ch1", "a holds", True),
        ("ch2", "b: run available", False),
        ("ch3", "c: analysis possible", False),
    ]
    assert "sweep b" in out[1].measured  # the failure names the fix
    assert [c.name for c in claims_lib.run("ci", chapter="ch2")] == ["b: run available"]


def test_main_prints_every_line_and_exits_1_on_a_failure(three_sources, capsys):
    assert claims_lib.main("ci") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 passed, 2 failed" and len(out) == 4
    assert claims_lib.main("ci", chapter="ch1") == 0


def test_retired_runs_and_other_scales_are_skipped(monkeypatch):
    seen = []

    def gen(name, scale, root):
        seen.append(name)
        return iter(())

    monkeypatch.setattr(
        registry,
        "_CLAIMS",
        [
            registry.ClaimSource("ch1", "ch1_premise_mlp", gen),
            registry.ClaimSource("ch2", "ch2_optimal_l2", gen),
        ],
    )
    claims_lib.run("cpu")  # ch2_optimal_l2 is retired at cpu
    assert seen == ["ch1_premise_mlp"]
    seen.clear()
    claims_lib.run("paper")  # ch1_premise_mlp has no paper scale
    assert seen == ["ch2_optimal_l2"]
