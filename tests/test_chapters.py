"""Chapters in a real browser (Debian Chromium, headless, offline), from the built book.

For every chapter: its plotly figures are drawn (non-empty SVG traces), the kernel-free λ
slider changes what is plotted, the Colab launch link is there, and the console stays clean.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import open_page
from test_book_build import built_book, expected_colab_url, page_of  # noqa: F401 (fixture)

CHAPTERS = [
    "book/ch1_timescale",
    "book/ch2_budget",
    "book/ch3_autol2",
    "book/ch4_infinite_width",
    "book/ch5_beyond",
]

#: Sliders on a chapter's first figure, where not the λ and η pair.
SLIDERS_OF_FIRST_FIGURE = {"book/ch2_budget": 1, "book/ch3_autol2": 1}

VISIBLE_TRACES = (
    """gd => gd.data.filter(t => t.visible !== false && t.visible !== 'legendonly').length"""
)


@pytest.mark.slow
@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_figures_and_sliders_work_without_a_kernel(built_book: Path, docname: str) -> None:  # noqa: F811
    path = page_of(built_book, docname)
    text = path.read_text()
    assert f'href="{expected_colab_url(docname)}"' in text, "Colab launch link missing"
    n_figs = text.count('class="plotly-graph-div"')
    assert n_figs >= 6, f"{docname}: expected its figures, found {n_figs}"
    with open_page(path, root=built_book) as (page, errors, blocked):
        page.wait_for_function(
            "n => document.querySelectorAll('.plotly-graph-div .main-svg').length >= n", arg=n_figs
        )
        # Every figure drew at least one trace with a non-empty path.
        drawn = page.evaluate(
            """() => [...document.querySelectorAll('.plotly-graph-div')].map(gd =>
                [...gd.querySelectorAll('.scatterlayer .trace path.js-line, .scatterlayer .trace path.point')]
                  .filter(p => (p.getAttribute('d') || '').length > 10).length)"""
        )
        assert all(n > 0 for n in drawn), drawn

        # The first figure's first slider (λ; chapter 2: the budget T) shows "all" at first:
        # move it and see fewer traces drawn.
        gd = page.locator(".plotly-graph-div").first
        gd.scroll_into_view_if_needed()
        before = gd.evaluate(VISIBLE_TRACES)
        lines_before = gd.evaluate("gd => gd.querySelectorAll('.scatterlayer .trace').length")
        # The λ slider sits left (x = 0), the η slider right (x = 0.52); chapter 2's first
        # figure has its one T slider only.
        rails = gd.locator(".slider-rail-touch-rect")
        assert rails.count() == SLIDERS_OF_FIRST_FIGURE.get(docname, 2)
        boxes = sorted(
            (rails.nth(i).bounding_box() for i in range(rails.count())), key=lambda b: b["x"]
        )
        box = boxes[0]
        page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2)
        page.wait_for_function("gd => gd.layout.sliders[0].active > 0", arg=gd.element_handle())
        after = gd.evaluate(VISIBLE_TRACES)
        lines_after = gd.evaluate("gd => gd.querySelectorAll('.scatterlayer .trace').length")
        assert 0 < after < before, (before, after)
        assert lines_after < lines_before, (lines_before, lines_after)
        if len(boxes) == 1:
            assert not errors, errors.errors
            assert not blocked, blocked
            return
        box2 = boxes[1]

        # The η slider dims the other learning rates (opacity), without touching visibility.
        page.mouse.click(box2["x"] + box2["width"] - 3, box2["y"] + box2["height"] / 2)
        page.wait_for_function("gd => gd.layout.sliders[1].active > 0", arg=gd.element_handle())
        opacities = gd.evaluate("gd => gd.data.map(t => t.opacity)")
        assert any(o is not None and o < 0.5 for o in opacities)
        assert gd.evaluate(VISIBLE_TRACES) == after
        assert not errors, errors.errors
        assert not blocked, blocked


@pytest.mark.slow
def test_ch2_budget_slider_moves_the_prediction(built_book: Path) -> None:  # noqa: F811
    """Chapter 2's T slider: each budget shows its own (a) curve, and the dashed λ_opt(T) line
    moves left (to smaller λ) as T grows, as c/(ηT) does."""
    path = page_of(built_book, "book/ch2_budget")
    with open_page(path, root=built_book) as (page, errors, blocked):
        page.wait_for_function(
            "() => document.querySelectorAll('.plotly-graph-div .main-svg').length"
        )
        gd = page.locator(".plotly-graph-div").first
        gd.scroll_into_view_if_needed()
        rail = gd.locator(".slider-rail-touch-rect").bounding_box()
        n = gd.evaluate("gd => gd.layout.sliders[0].steps.length")
        xs = []
        for k in (1, n - 1):  # the smallest and the largest budget
            page.mouse.click(
                rail["x"] + rail["width"] * k / (n - 1) - (3 if k == n - 1 else -3),
                rail["y"] + rail["height"] / 2,
            )
            page.wait_for_function(
                "([gd, k]) => gd.layout.sliders[0].active === k", arg=[gd.element_handle(), k]
            )
            shown = gd.evaluate(
                """gd => gd.data.filter(t => t.visible !== false && t.name.startsWith('λ_opt'))
                    .map(t => t.x[0])"""
            )
            assert len(shown) == 1, shown
            xs.append(shown[0])
        assert xs[1] < xs[0], xs
        assert not errors, errors.errors
        assert not blocked, blocked


OVERFLOW = """() => {
    const main = document.querySelector('article') || document.querySelector('main');
    const right = main.getBoundingClientRect().right + 2;
    const out = [];
    if (document.documentElement.scrollWidth > window.innerWidth + 2) {
        out.push('page ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
    }
    for (const el of main.querySelectorAll('.cell_output pre, .output pre, table')) {
        const box = el.getBoundingClientRect();
        if (box.width === 0) continue;  // folded
        if (el.tagName === 'PRE' && el.scrollWidth > el.clientWidth + 2) {
            out.push('pre ' + el.scrollWidth + ' > ' + el.clientWidth + ': ' + el.textContent.slice(0, 80));
        }
        if (el.tagName === 'TABLE' && box.right > right) {
            out.push('table to ' + Math.round(box.right) + ' > ' + Math.round(right) + ': ' + el.textContent.slice(0, 80));
        }
    }
    return out;
}"""


@pytest.mark.slow
@pytest.mark.parametrize("docname", [*CHAPTERS, "book/intro", "book/claims"])
def test_no_output_or_table_overflows_at_1300px(built_book: Path, docname: str) -> None:  # noqa: F811
    """Check reports, provenance and tables wrap inside the page's column at 1300 px."""
    with open_page(page_of(built_book, docname), root=built_book) as (page, errors, blocked):
        page.set_viewport_size({"width": 1300, "height": 900})
        page.wait_for_timeout(300)
        problems = page.evaluate(OVERFLOW)
        assert not problems, problems
