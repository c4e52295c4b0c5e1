"""l2lib.progress: the plain progress lines (when they print, percentages, members, ETA), the
tqdm bar, and which of the two ``auto`` picks for a stream.

The clock is replaced by a fake one, so every elapsed time and ETA is exact; nothing trains.
"""

from __future__ import annotations

import io
import sys
import types

import pytest

from l2lib import progress


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def monotonic(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=c.monotonic))
    return c


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_lines_print_at_start_every_tenth_and_at_close_with_the_eta(clock):
    out = io.StringIO()
    p = progress.Lines(out)
    p.start("sweep ci", total=200, done=0, members=4, members_done=0)
    assert _lines(out) == ["sweep ci: 0/200 member-steps (0%), members 0/4, elapsed 0s, ETA ?"]
    clock.t += 5
    p.advance(10)  # 5%: below every_fraction, nothing printed
    assert len(_lines(out)) == 1
    clock.t += 5
    p.advance(10)  # 10%
    p.group_done(2)
    assert _lines(out)[-1] == (
        "sweep ci: 20/200 member-steps (10%), members 0/4, elapsed 10s, ETA 90s"
    )
    clock.t += 10
    p.advance(40)  # 30%: 20 s for 60 member-steps, 140 left
    assert _lines(out)[-1] == (
        "sweep ci: 60/200 member-steps (30%), members 2/4, elapsed 20s, ETA 47s"
    )
    p.advance(140)  # the end is not a progress line: close prints where it ended
    p.group_done(2)
    assert len(_lines(out)) == 3
    clock.t += 30
    p.close()
    p.close()  # closing twice prints once
    assert _lines(out)[3:] == [
        "sweep ci: 200/200 member-steps (100%), members 4/4, elapsed 50s, ETA 0s"
    ]


def test_lines_also_print_every_every_s_between_fractions(clock):
    out = io.StringIO()
    p = progress.Lines(out, every_fraction=0.5, every_s=30.0)
    p.start("slow", total=1000, done=0, members=1, members_done=0)
    for _ in range(3):
        clock.t += 10
        p.advance(1)
    assert len(_lines(out)) == 2  # 30 s since the last line
    assert _lines(out)[-1].startswith("slow: 3/1000 member-steps (0%)")
    assert _lines(out)[-1].endswith("elapsed 30s, ETA 9970s")
    clock.t += 29
    p.advance(1)
    assert len(_lines(out)) == 2  # 29 s: not yet


def test_a_resumed_sweep_times_only_what_it_trains_now(clock):
    out = io.StringIO()
    p = progress.Lines(out)
    p.start("resumed", total=100, done=50, members=10, members_done=5)
    assert _lines(out)[0] == ("resumed: 50/100 member-steps (50%), members 5/10, elapsed 0s, ETA ?")
    clock.t += 8
    p.advance(10)  # 10 member-steps in 8 s; 40 left
    assert _lines(out)[-1].endswith("(60%), members 5/10, elapsed 8s, ETA 32s")


def test_closing_lines_that_never_started_prints_nothing():
    out = io.StringIO()
    progress.Lines(out).close()
    assert out.getvalue() == ""


def test_bar_reports_steps_and_finished_members_to_its_stream():
    out = io.StringIO()
    bar = progress.Bar(out)
    bar.start("sweep ci", total=80, done=20, members=4, members_done=1)
    bar.advance(30)
    bar.group_done(2)
    bar.close()
    text = out.getvalue()
    assert "sweep ci" in text and "members 1/4" in text and "members 3/4" in text
    first, *_, last = text.replace("\r", "\n").strip().splitlines()
    assert first.startswith("sweep ci:  25%") and "20.0/80.0" in first  # resumed at 20
    assert last.startswith("sweep ci:  62%") and "50.0/80.0" in last and "step/s" in last
    assert "100%" not in text and text.endswith("\n")  # closed where it was, not at the end
    progress.Bar(io.StringIO()).close()  # closing a bar that never started is harmless


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_picks_lines_for_pipes_and_a_bar_for_terminals_and_notebooks(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert isinstance(progress.auto(io.StringIO()), progress.Lines)
    assert isinstance(progress.auto(Tty()), progress.Bar)
    assert isinstance(progress.auto(object()), progress.Lines)  # no isatty at all
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    bar = progress.auto(io.StringIO())
    assert isinstance(bar, progress.Bar) and bar._notebook
