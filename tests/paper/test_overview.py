"""The claims page: one row per claim of `python -m l2lib check`, with its result."""

from __future__ import annotations

from l2lib import claims as claims_lib
from l2lib.paper import common, overview


def test_claims_table_has_one_row_per_claim(monkeypatch):
    claims = [
        claims_lib.Claim("ch1", "slope", True, "-1.01", "-1 ± 0.15"),
        claims_lib.Claim("ch2", "λ_opt", False, "×12 <b>", "within ×2"),
        claims_lib.Claim("ch9", "other", True, "x", "y"),
    ]
    monkeypatch.setattr(claims_lib, "run", lambda scale="cpu", root=None: claims)
    html = common.claims_table().data
    assert html.count("<tr>") == 1 + len(claims)
    assert "2 of 3 claims pass" in html
    assert "1. The time scale" in html and "ch9" in html  # unknown chapters keep their key
    assert "&lt;b&gt;" in html  # measured text is escaped
    summary = common.claims_summary().data
    assert "1 of 1" in summary and "0 of 1" in summary
    # Given the claims, neither runs the checks again.
    monkeypatch.setattr(claims_lib, "run", lambda scale="cpu", root=None: 1 / 0)
    assert common.claims_table(claims=claims).data == html
    assert common.claims_summary(claims=claims).data == summary


def test_claim_map_status_follows_the_checks_of_each_claim():
    """reproduced / partly / not reproduced / untested come from the checks alone."""
    kw = dict(premise="9 of 9 (λ, η) in the premise")
    claims = [
        claims_lib.Claim("ch1", "MLP: slope of log t* vs log λη (T=10)", False, "x", "g", **kw),
        claims_lib.Claim("ch1", "FM: slope of log t* vs log λη (T=10)", False, "x", "g", **kw),
        claims_lib.Claim("ch1", "MLP: c = λη·t* (per η)", True, "x", "g", summary="×1.2", **kw),
        claims_lib.Claim("ch1", "FM: c = λη·t* (per η)", False, "x", "g", **kw),
        # Outside the premise: not part of the in-premise claims.
        claims_lib.Claim("ch1", "old: collapse in λ·η·t", True, "x", "g", premise="not measured"),
        claims_lib.Claim("ch4", "Hessian: smallest eig ≈ λ (λ=0.1)", True, "x", "g"),
    ]
    rows = {r.claim.text.split(":")[0]: r for r in overview.claim_map(claims)}
    by_text = {r.claim.text: r for r in overview.claim_map(claims)}
    slope = next(r for t, r in by_text.items() if t.startswith("t* ≈ c/(λη)"))
    assert (slope.status, slope.passed, slope.total) == ("not reproduced", 0, 2)
    one_c = next(r for t, r in by_text.items() if t.startswith("one c"))
    assert one_c.status == "partly" and one_c.headline == "MLP: ×1.2"
    collapse = next(r for t, r in by_text.items() if t.startswith("curves collapse"))
    assert collapse.status == "untested"
    hessian = next(r for t, r in by_text.items() if "Hessian" in t)
    assert hessian.status == "reproduced"
    assert rows  # every paper claim has a row
    assert len(by_text) == len(overview.PAPER_CLAIMS)


def test_claim_map_table_links_every_chapter_and_the_paper_scale(tmp_path):
    claims = [claims_lib.Claim("ch4", "Hessian: smallest eig ≈ λ (λ=0.1)", True, "x", "g")]
    html = overview.claim_map_table(root=tmp_path, claims=claims).data
    assert html.count("<tr>") == 1 + len(overview.PAPER_CLAIMS) + 1
    for pc in overview.PAPER_CLAIMS:
        assert f'href="{pc.doc}.html"' in html
    assert 'href="paper_scale.html"' in html and "– untested" in html and "● reproduced" in html


def test_every_claim_at_scale_cpu_reads_a_cached_run():
    """No claim of the book at scale cpu is a missing or retired run (registry.retired_names("cpu")
    keeps the retired ones out of claims_lib.run)."""
    missing = [c.name for c in claims_lib.run("cpu") if c.name.endswith(": run available")]
    assert not missing, missing
