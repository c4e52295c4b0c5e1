"""The claims page: one row per claim of `python -m l2lib check`, with its result."""

from __future__ import annotations

from l2lib import book, check


def test_claims_table_has_one_row_per_claim(monkeypatch):
    claims = [
        check.Claim("ch1", "slope", True, "-1.01", "-1 ± 0.15"),
        check.Claim("ch2", "λ_opt", False, "×12 <b>", "within ×2"),
        check.Claim("ch9", "other", True, "x", "y"),
    ]
    monkeypatch.setattr(check, "run", lambda scale="cpu", root=None: claims)
    html = book.claims_table().data
    assert html.count("<tr>") == 1 + len(claims)
    assert "2 of 3 claims pass" in html
    assert "1. The time scale" in html and "ch9" in html  # unknown chapters keep their key
    assert "&lt;b&gt;" in html  # measured text is escaped
    summary = book.claims_summary().data
    assert "1 of 1" in summary and "0 of 1" in summary
    # Given the claims, neither runs the checks again.
    monkeypatch.setattr(check, "run", lambda scale="cpu", root=None: 1 / 0)
    assert book.claims_table(claims=claims).data == html
    assert book.claims_summary(claims=claims).data == summary
