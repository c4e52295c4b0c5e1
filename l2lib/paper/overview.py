"""The book-wide pages: the paper's claims and what the checks say of each (the intro's claim
map, :func:`claim_map_table`), and the runs each chapter reads with what they cost
(``book/runs.md``: :func:`runs_table`, :func:`chapter_costs`).

This module sits above the chapters: it reads their claims through :mod:`l2lib.registry` and
:func:`l2lib.claims.run`, and the names of the runs they read.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from l2lib import claims as claims_lib
from l2lib import registry, store
from l2lib.claims import Claim
from l2lib.paper import ch5_beyond, shared
from l2lib.paper.common import table

# --- the claim map: the paper's claims, and what the book's checks say of each -------------------


@dataclass(frozen=True)
class PaperClaim:
    """One claim of the paper and the checks of the book that test it (``select``: a predicate
    on a :class:`Claim`). Its status comes from those checks alone, at build time."""

    text: str
    doc: str  # the chapter's page (docname under book/)
    select: Callable[[Claim], bool]


def _in_premise(c: Claim) -> bool:
    return bool(c.premise) and not c.premise.startswith("not measured") and "theory" not in c.name


def _matching(chapter: str, *words: str, in_premise: bool = False, prefix: str = ""):
    """A :class:`PaperClaim` selector: the checks of ``chapter`` whose name holds every word
    (and starts with ``prefix``), only those inside the premise with ``in_premise``."""

    def select(c: Claim) -> bool:
        return (
            c.chapter == chapter
            and c.name.startswith(prefix)
            and all(w in c.name for w in words)
            and (not in_premise or _in_premise(c))
        )

    return select


_CH1, _CH2, _CH3, _CH4, _CH5 = (
    "ch1_timescale",
    "ch2_budget",
    "ch3_autol2",
    "ch4_infinite_width",
    "ch5_beyond",
)


PAPER_CLAIMS: list[PaperClaim] = [
    PaperClaim(
        "t* ≈ c/(λη): slope −1, inside the premise, at a fixed budget, against its null",
        _CH1,
        _matching("ch1", "slope", in_premise=True),
    ),
    PaperClaim(
        "one c for every η: t* depends on λη alone",
        _CH1,
        _matching("ch1", "per η", in_premise=True),
    ),
    PaperClaim("curves collapse against λη·t", _CH1, _matching("ch1", "collapse", in_premise=True)),
    PaperClaim(
        "t* is a peak, not where the run stops",
        _CH1,
        _matching("ch1", "not set by", in_premise=True),
    ),
    PaperClaim(
        "infinite width: t* from the gradient flow with L2, then f → 0",
        _CH1,
        _matching("ch1", prefix="theory regime"),
    ),
    PaperClaim(
        "infinite width: the kernel decays as e^(−2(k−1)λt)", _CH4, _matching("ch4", "kernel")
    ),
    PaperClaim(
        "fixed budget: accuracy against λ has an interior optimum", _CH2, _matching("ch2", "(a)")
    ),
    PaperClaim(
        "budget ∝ 1/λ: accuracy improves as λ falls, then plateaus", _CH2, _matching("ch2", "(b)")
    ),
    PaperClaim("λ_opt ≈ c/(ηT) from one cheap run at a large λ₀", _CH2, _matching("ch2", "λ_opt")),
    PaperClaim(
        "AutoL2 reaches the best constant λ's accuracy, in fewer steps",
        _CH3,
        _matching("ch3", "AutoL2 vs"),
    ),
    PaperClaim(
        "the regularized Hessian's smallest eigenvalue is ≈ λ", _CH4, _matching("ch4", "Hessian")
    ),
    PaperClaim("schedules, momentum, batch norm (what reviewers asked)", _CH5, _matching("ch5")),
]


class MapRow(NamedTuple):
    claim: PaperClaim
    status: str  # reproduced / partly / not reproduced / untested
    passed: int
    total: int
    headline: str  # the first matching check's headline measurement


def claim_map(claims: list[Claim]) -> list[MapRow]:
    """Every paper claim with the status its checks give: ``reproduced`` (all pass), ``partly``
    (some), ``not reproduced`` (none), ``untested`` (no check ran: e.g. no run at this scale)."""
    rows = []
    for pc in PAPER_CLAIMS:
        mine = [c for c in claims if pc.select(c)]
        ran = [c for c in mine if not c.name.endswith(": run available")]
        passed = sum(c.passed for c in ran)
        if not ran:
            status = "untested"
        elif passed == len(ran):
            status = "reproduced"
        elif passed:
            status = "partly"
        else:
            status = "not reproduced"
        head = ""
        if ran:
            first = next((c for c in ran if c.passed), ran[0]) if status == "partly" else ran[0]
            setup = first.name.partition(": ")[0]
            head = f"{setup}: {first.summary or first.measured[:90]}"
        rows.append(MapRow(pc, status, passed, len(ran), head))
    return rows


# --- the intro's claim map --------------------------------------------------------------------

#: How each status of :func:`l2lib.paper.overview.claim_map` is marked.
STATUS_MARKS = {
    "reproduced": "● reproduced",
    "partly": "◐ partly",
    "not reproduced": "○ not reproduced",
    "untested": "– untested",
}


def claim_map_table(scale: str = "cpu", root=None, claims=None):
    """One screen: each claim of the paper, the status the book's checks give it, the key
    number and a link to the chapter — computed from ``python -m l2lib check`` at build time;
    and a last row for the paper's own setups, untested where no paper-scale run is stored."""
    from html import escape

    from IPython.display import HTML

    claims = claims_lib.run(scale, root) if claims is None else claims
    body = []
    for row in claim_map(claims):
        count = f" ({row.passed} of {row.total} checks)" if row.total else ""
        body.append(
            "<tr>"
            f"<td>{escape(row.claim.text)}</td>"
            f"<td>{escape(STATUS_MARKS[row.status])}{escape(count)}</td>"
            f"<td>{escape(row.headline) or '—'}</td>"
            f'<td><a href="{escape(row.claim.doc)}.html">{escape(row.claim.doc.split("_")[0])}</a></td>'
            "</tr>"
        )
    st = store.Store(root)
    paper = [n for n in registry.names() if "paper" in registry.scales(n)]
    stored = []
    for n in paper:
        try:
            if st.exists(registry.get(n, "paper")):
                stored.append(n)
        except ValueError:  # built from another paper-scale run that is not stored either
            pass
    status = "untested" if not stored else "partly"
    body.append(
        "<tr><td>the paper's own setups: WRN-28-10 on CIFAR-10, the fully connected net on "
        "MNIST</td>"
        f"<td>{escape(STATUS_MARKS[status])}</td>"
        f"<td>{len(stored)} of {len(paper)} paper-scale runs stored (they need a GPU and TFDS "
        "data)</td>"
        '<td><a href="paper_scale.html">paper scale</a></td></tr>'
    )
    head = "".join(f"<th>{h}</th>" for h in ("the paper's claim", "here", "key number", "where"))
    cap = escape(f"Recomputed from the cached runs when this page was built (scale {scale})")
    return HTML(
        f"<table class='l2-table'><caption>{cap}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


#: Which experiments each chapter reads (the runs page and its per-chapter cost use it).
CHAPTER_RUNS = {
    "1. The time scale": (
        "ch1_premise_mlp",
        "ch1_premise_fmnist",
        "ch1_theory_ntk",
        "ch1_timescale_mlp",
        "ch1_timescale_mlp_long",
        "ch1_timescale_mlp_longer",
    ),
    "2. Performance against λ": (
        "ch1_premise_mlp",
        "ch1_premise_fmnist",
        *(f"ch2_{s}_{part}" for s in shared.INPREMISE_SETUPS for part in ("small", "predicted")),
    ),
    "3. AutoL2": (
        "ch1_premise_mlp",
        "ch1_premise_fmnist",
        *(f"ch2_{s}_small" for s in shared.INPREMISE_SETUPS),
        *(f"ch3_{s}_{part}" for s in shared.INPREMISE_SETUPS for part in ("const", "autol2")),
    ),
    "5. Beyond constant learning rates": (
        shared.INPREMISE_SETUPS[ch5_beyond.CH5_SETUP],
        *(f"ch5_{ch5_beyond.CH5_SETUP}_{v}" for v in ch5_beyond.CH5_VARIANTS),
    ),
}


def runs_table(root=None):
    """Every entry of the store with its provenance, then the cost of each chapter's runs."""
    st = store.Store(root)
    rows = []
    for e in st.entries():
        wall = None
        if e.status != "corrupt":
            wall = json.loads(pathlib.Path(e.path).read_text()).get("wall_s")
        rows.append(
            [
                e.name,
                e.scale,
                e.members if e.members is not None else "-",
                f"{e.steps:,}" if isinstance(e.steps, int) else "-",
                e.device or "-",
                f"{wall / 60:.1f}" if isinstance(wall, (int, float)) else "-",
                (e.created or "-")[:16].replace("T", " "),
                e.status,
            ]
        )
    return table(
        [
            "experiment",
            "scale",
            "members",
            "member-steps",
            "device",
            "wall (min)",
            "made (UTC)",
            "status",
        ],
        rows,
        caption=f"Entries in {st.root.name}/ (python -m l2lib list)",
    )


def chapter_costs(scale: str = "cpu", root=None):
    """Per chapter: the wall time its cached runs took to make (regeneration cost)."""
    st = store.Store(root)
    rows = []
    for chapter, names in CHAPTER_RUNS.items():
        wall, steps, missing = 0.0, 0, []
        for name in names:
            try:
                cfg = registry.get(name, scale)
            except ValueError:  # built from another run that is missing (chapter 2's)
                missing.append(name)
                continue
            if not st.exists(cfg):
                missing.append(name)
                continue
            meta = st.load(cfg).meta
            wall += float(meta.get("wall_s") or 0.0)
            steps += int(meta.get("member_steps") or 0)
        rows.append(
            [chapter, ", ".join(names), f"{steps:,}", f"{wall / 60:.1f}", ", ".join(missing) or "-"]
        )
    return table(
        ["chapter", "experiments", "member-steps", "wall (min)", "missing"],
        rows,
        caption=f"What each chapter's runs cost to regenerate at scale {scale}",
    )
