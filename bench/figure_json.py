"""The figures of a built book, as JSON: for comparing two builds figure by figure.

Every plotly figure in the built HTML is a ``Plotly.newPlot("<div id>", data, layout, config)``
call; this script decodes the three JSON arguments of each, numbers the figures of a page in
order (the div ids are random per build, so they are left out) and writes one canonical JSON
file per page, plus a digest line per page on stdout::

    python bench/figure_json.py _build/html /tmp/figures-before
    python bench/figure_json.py _build/html /tmp/figures-after
    diff -r /tmp/figures-before /tmp/figures-after     # empty: the figures are identical
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

_CALL = re.compile(r'Plotly\.newPlot\(\s*"([^"]+)",\s*')
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def figures(html: str) -> list[dict]:
    """The (data, layout, config) of every plotly figure in ``html``, in page order."""
    dec = json.JSONDecoder()
    out = []
    for m in _CALL.finditer(html):
        pos = m.end()
        parts = []
        for _ in range(3):
            obj, pos = dec.raw_decode(html, pos)
            parts.append(obj)
            pos = re.compile(r"\s*,?\s*").match(html, pos).end()
        data, layout, config = parts
        out.append({"data": data, "layout": layout, "config": config})
    return out


def main(build: str, out_dir: str) -> int:
    root, out = Path(build), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for page in sorted(root.rglob("*.html")):
        figs = figures(page.read_text(encoding="utf-8"))
        if not figs:
            continue
        text = json.dumps(figs, sort_keys=True, indent=1, ensure_ascii=False)
        text = _ID.sub("<id>", text)  # an id a figure's own JSON may repeat
        rel = page.relative_to(root).with_suffix(".json")
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text + "\n", encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        print(f"{rel}  {len(figs):3d} figures  sha256 {digest}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/figure_json.py BUILT_HTML_DIR OUT_DIR")
    sys.exit(main(sys.argv[1], sys.argv[2]))
