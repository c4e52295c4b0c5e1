"""Chapters in a real browser (Debian Chromium, headless, offline), from the built book.

For every chapter: its plotly figures are drawn (non-empty SVG traces), the kernel-free λ
slider changes what is plotted, the Colab launch link is there, and the console stays clean.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import open_page
from test_book_build import built_book, expected_colab_url, page_of  # noqa: F401 (fixture)

from l2lib import figures

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

#: Per figure of the page: its λ sliders (visibility) that open on "all", with the number of
#: traces drawn there that another step hides (a fit line drawn at every step does not count),
#: where that number exceeds the argument.
CROWDED_SLIDERS = """many => [...document.querySelectorAll('.plotly-graph-div')].flatMap((gd, i) =>
    (gd.layout.sliders || []).map(s => {
        const prefix = (s.currentvalue || {}).prefix || '';
        const vis = s.steps.map(st => (st.args && st.args[0] && st.args[0].visible) || null);
        if (!prefix.startsWith('λ') || (s.active || 0) !== 0 || s.steps[0].label !== 'all'
            || !vis[0]) return null;
        const varies = vis[0].filter((v, k) => v && vis.some(w => w && !w[k])).length;
        return varies > many ? `figure ${i} (${prefix}): ${varies}` : null;
    }).filter(x => x))"""


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

        # Every λ slider that opens on "all" draws at most figures.MANY_TRACES traces there;
        # over more, it opens on one value (l2lib.figures.first_shown).
        crowded = page.evaluate(CROWDED_SLIDERS, figures.MANY_TRACES)
        assert not crowded, f"sliders opening on 'all' over too many traces: {crowded}"

        # The first figure's first slider (λ; chapter 2: the budget T) opens on "all" or, over
        # many traces, on one value: moving it changes what is drawn (from "all" to a value:
        # fewer traces; from a value back to "all": more).
        gd = page.locator(".plotly-graph-div").first
        gd.scroll_into_view_if_needed()
        before = gd.evaluate(VISIBLE_TRACES)
        lines_before = gd.evaluate("gd => gd.querySelectorAll('.scatterlayer .trace').length")
        start = gd.evaluate("gd => gd.layout.sliders[0].active || 0")
        # The λ slider sits left (x = 0), the η slider right (x = 0.52); chapter 2's first
        # figure has its one T slider only.
        rails = gd.locator(".slider-rail-touch-rect")
        assert rails.count() == SLIDERS_OF_FIRST_FIGURE.get(docname, 2)
        boxes = sorted(
            (rails.nth(i).bounding_box() for i in range(rails.count())), key=lambda b: b["x"]
        )
        box = boxes[0]
        if start == 0:
            page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2)
            page.wait_for_function("gd => gd.layout.sliders[0].active > 0", arg=gd.element_handle())
        else:
            page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2)
            page.wait_for_function(
                "gd => gd.layout.sliders[0].active === 0", arg=gd.element_handle()
            )
        after = gd.evaluate(VISIBLE_TRACES)
        lines_after = gd.evaluate("gd => gd.querySelectorAll('.scatterlayer .trace').length")
        if start == 0:
            assert 0 < after < before, (before, after)
            assert lines_after < lines_before, (lines_before, lines_after)
        else:
            assert 0 < before < after, (before, after)
            assert lines_before < lines_after, (lines_before, lines_after)
        if len(boxes) == 1:
            assert not errors, errors.errors
            assert not blocked, blocked
            return
        # Measured again: a legend that lists other entries now may have moved the sliders.
        box2 = sorted(
            (rails.nth(i).bounding_box() for i in range(rails.count())), key=lambda b: b["x"]
        )[1]

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


#: The first screen a reader sees on a laptop: 1300 × 800 CSS pixels, before any scrolling.
FIRST_SCREEN = {"width": 1300, "height": 800}

FIRST_SCREEN_BOXES = """() => {
    const article = document.querySelector('article.bd-article') || document.querySelector('main');
    const h1 = article.querySelector('h1');
    const after = e => h1.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING;
    // The opening paragraph: the first non-empty prose paragraph after the title (not a code
    // cell's, nor a table's).
    const p = [...article.querySelectorAll('p')].find(
        e => after(e) && !e.closest('.cell, table') && e.textContent.trim());
    const table = article.querySelector('table.l2-verdict');
    const box = e => {
        if (!e) return null;
        const r = e.getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                width: r.width, height: r.height};
    };
    return {
        scrollY: window.scrollY,
        h1: box(h1),
        p: box(p),
        table: box(table),
        head: table && box(table.querySelector('thead tr') || table.rows[0]),
        row: table && box(table.querySelector('tbody tr')),
        text: p ? p.textContent.slice(0, 60) : null,
    };
}"""


def off_screen(box: dict | None, size: dict[str, int] = FIRST_SCREEN) -> str | None:
    """Why ``box`` (a bounding box in viewport pixels) is not wholly on the first screen."""
    if box is None:
        return "missing"
    if box["width"] <= 0 or box["height"] <= 0:
        return "not rendered (empty box)"
    if box["top"] < 0 or box["left"] < 0:
        return f"starts above or left of the screen ({box['left']:.0f}, {box['top']:.0f})"
    if box["bottom"] > size["height"] or box["right"] > size["width"]:
        return f"ends at ({box['right']:.0f}, {box['bottom']:.0f}), beyond {size['width']}×{size['height']}"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("docname", CHAPTERS)
def test_first_screen_shows_title_opening_and_verdict(
    built_book: Path,  # noqa: F811
    docname: str,
    tmp_path: Path,
) -> None:
    """A chapter's first screen at 1300 × 800, before scrolling: its title, its opening
    paragraph and the top of its verdict table (header and first claim row), each wholly inside
    the viewport, in that order. The screenshot is saved as ``<chapter>.png`` in tmp_path."""
    path = page_of(built_book, docname)
    with open_page(path, root=built_book, viewport=FIRST_SCREEN) as (page, errors, blocked):
        # Typeset math and web fonts change line heights: measure after both.
        page.evaluate("() => document.fonts.ready.then(() => true)")
        page.evaluate(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
            " ? MathJax.startup.promise.then(() => true) : true"
        )
        page.wait_for_timeout(300)
        page.screenshot(path=str(tmp_path / f"{Path(docname).name}.png"))
        boxes = page.evaluate(FIRST_SCREEN_BOXES)
    assert boxes["scrollY"] == 0, boxes["scrollY"]
    problems = {
        what: why
        for what, why in (
            ("title", off_screen(boxes["h1"])),
            (f"opening paragraph {boxes['text']!r}", off_screen(boxes["p"])),
            ("verdict table header", off_screen(boxes["head"])),
            ("verdict table's first claim", off_screen(boxes["row"])),
        )
        if why
    }
    assert not problems, f"{docname} at 1300×800 (screenshot {tmp_path}): {problems}"
    assert boxes["h1"]["bottom"] <= boxes["p"]["top"] <= boxes["table"]["top"], boxes
    assert not errors, errors.errors
    assert not blocked, blocked


#: A phone held upright.
PHONE = {"width": 390, "height": 844}

#: Per figure with a legend drawn: where its legend, plot area(s) and sliders are, in page
#: pixels (the page is not scrolled while it is measured).
LEGEND_PLACES = """() => [...document.querySelectorAll('.plotly-graph-div')].flatMap((gd, i) => {
    const legend = gd.querySelector('.legend');
    if (!legend || !gd._fullLayout.showlegend) return [];
    const box = e => {
        const r = e.getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right};
    };
    const plots = [...gd.querySelectorAll('.draglayer .nsewdrag')].map(box);
    const sliders = [...gd.querySelectorAll('.slider-container')].map(box);
    return [{
        figure: i,
        title: (gd.layout.title && (gd.layout.title.text || gd.layout.title)) || '',
        orientation: gd._fullLayout.legend.orientation,
        legend: box(legend),
        div: box(gd),
        // plotly.py wraps the figure's div in one with the same CSS height: the page's flow
        // follows that one.
        outer: box(gd.parentElement),
        plot: {top: Math.min(...plots.map(b => b.top)), bottom: Math.max(...plots.map(b => b.bottom)),
               left: Math.min(...plots.map(b => b.left)), right: Math.max(...plots.map(b => b.right))},
        slidersBottom: sliders.length ? Math.max(...sliders.map(b => b.bottom)) : null,
    }];
})"""


def legend_problems(places: list[dict]) -> list[str]:
    """Why a figure's legend is not below its plot area (and sliders), inside the figure."""
    out = []
    for f in places:
        name = f"figure {f['figure']} {str(f['title'])[:40]!r}"
        legend, plot, div = f["legend"], f["plot"], f["div"]
        if legend["top"] < plot["bottom"] - 1:
            out.append(
                f"{name}: legend top {legend['top']:.0f} above plot bottom {plot['bottom']:.0f}"
            )
        if f["slidersBottom"] is not None and legend["top"] < f["slidersBottom"] - 1:
            out.append(
                f"{name}: legend over the sliders ({legend['top']:.0f} < {f['slidersBottom']:.0f})"
            )
        bottom = min(div["bottom"], f["outer"]["bottom"])
        if legend["bottom"] > bottom + 2:
            out.append(
                f"{name}: legend spills out of the figure ({legend['bottom']:.0f} > {bottom:.0f})"
            )
        width = plot["right"] - plot["left"]
        if width < 0.6 * (div["right"] - div["left"]):
            out.append(f"{name}: plot area {width:.0f} px of {div['right'] - div['left']:.0f}")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("docname", ["book/ch1_timescale", "book/ch4_infinite_width"])
def test_legends_go_below_the_plot_on_a_phone(built_book: Path, docname: str) -> None:  # noqa: F811
    """At 390 px every legend sits below its figure's plot area and sliders, inside the
    figure, and the plot area keeps most of the width (book/_js/l2book-figures.js); a slider
    that lists more entries makes room for them; at 1300 px the legends stand beside again."""
    path = page_of(built_book, docname)
    with open_page(path, root=built_book, viewport=PHONE) as (page, errors, blocked):
        n = page.evaluate("() => document.querySelectorAll('.plotly-graph-div').length")
        assert n >= 6
        page.wait_for_function(
            """n => [...document.querySelectorAll('.plotly-graph-div')]
                .filter(gd => gd.dataset.l2bookLegend === 'below').length >= n""",
            arg=n - 2,  # a figure or two may have no legend, or one already horizontal
        )
        page.wait_for_timeout(300)
        places = page.evaluate(LEGEND_PLACES)
        assert len(places) >= n - 2, places
        assert all(f["orientation"] == "h" for f in places), places
        assert not legend_problems(places), legend_problems(places)

        # The first figure whose first slider opens on one value: slide it to "all" (more
        # legend entries), and the figure grows to hold them.
        figs = page.locator(".plotly-graph-div")
        k = page.evaluate(
            """() => [...document.querySelectorAll('.plotly-graph-div')].findIndex(gd =>
                gd.layout.sliders && gd.layout.sliders[0].active > 0
                && gd.layout.sliders[0].steps[0].label === 'all')"""
        )
        if k >= 0:
            gd = figs.nth(k)
            gd.scroll_into_view_if_needed()
            height = gd.evaluate("gd => gd.getBoundingClientRect().height")
            rail = gd.locator(".slider-rail-touch-rect").first.bounding_box()
            page.mouse.click(rail["x"] + 3, rail["y"] + rail["height"] / 2)
            page.wait_for_function(
                "([gd, h]) => gd.layout.sliders[0].active === 0"
                " && gd.getBoundingClientRect().height > h",
                arg=[gd.element_handle(), height],
            )
            page.wait_for_timeout(300)
            page.evaluate("() => window.scrollTo(0, 0)")
            again = page.evaluate(LEGEND_PLACES)
            assert not legend_problems(again), legend_problems(again)

        page.set_viewport_size(FIRST_SCREEN)
        page.wait_for_function(
            """() => ![...document.querySelectorAll('.plotly-graph-div')]
                .some(gd => gd.dataset.l2bookLegend === 'below')"""
        )
        page.wait_for_timeout(300)
        wide = page.evaluate(LEGEND_PLACES)
        beside = [f for f in wide if f["legend"]["left"] >= f["plot"]["right"] - 1]
        assert len(beside) >= len(places) - 2, wide
        assert not errors, errors.errors
        assert not blocked, blocked
