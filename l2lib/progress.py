"""Progress reports for long sweeps: a tqdm bar on a terminal, plain lines elsewhere.

:func:`l2lib.store.load_or_run` reports through the small :class:`SweepProgress` protocol, so
a notebook, the command line and a test can each watch a sweep their own way. Work is counted
in *member-steps*: a group of ``m`` members whose longest member trains ``n`` steps costs
``m·n`` (members run in lockstep, so finished members still cost their slot).
"""

from __future__ import annotations

import sys
import time
from typing import IO, Protocol


class SweepProgress(Protocol):
    """What :func:`l2lib.store.load_or_run` calls while it trains."""

    def start(self, label: str, total: int, done: int, members: int, members_done: int) -> None:
        """The sweep begins: ``done`` of ``total`` member-steps are already finished (resumed)."""

    def advance(self, member_steps: int) -> None:
        """``member_steps`` more member-steps were trained."""

    def group_done(self, members: int) -> None:
        """A group of ``members`` members finished and was written to disk."""

    def close(self) -> None:
        """The sweep ended (or failed)."""


class Bar:
    """A tqdm bar over member-steps, with finished members and the ETA."""

    def __init__(self, stream: IO[str] | None = None, notebook: bool = False):
        self._stream = stream if stream is not None else sys.stderr
        self._notebook = notebook
        self._bar = None
        self._members = 0
        self._members_done = 0

    def start(self, label: str, total: int, done: int, members: int, members_done: int) -> None:
        if self._notebook:
            from tqdm.notebook import tqdm
        else:
            from tqdm.std import tqdm
        self._members, self._members_done = members, members_done
        self._bar = tqdm(
            total=total,
            initial=done,
            desc=label,
            unit="step",
            unit_scale=True,
            file=self._stream,
            dynamic_ncols=True,
        )
        self._bar.set_postfix_str(self._postfix(), refresh=True)

    def _postfix(self) -> str:
        return f"members {self._members_done}/{self._members}"

    def advance(self, member_steps: int) -> None:
        self._bar.update(member_steps)

    def group_done(self, members: int) -> None:
        self._members_done += members
        self._bar.set_postfix_str(self._postfix(), refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class Lines:
    """Plain progress lines (logs, CI, pipes): one every ``every_fraction`` or ``every_s``."""

    def __init__(
        self, stream: IO[str] | None = None, every_fraction: float = 0.1, every_s: float = 30.0
    ):
        self._stream = stream if stream is not None else sys.stderr
        self._every_fraction = every_fraction
        self._every_s = every_s

    def start(self, label: str, total: int, done: int, members: int, members_done: int) -> None:
        self._label, self._total, self._done = label, max(total, 1), done
        self._members, self._members_done = members, members_done
        self._t0 = time.monotonic()
        self._done0 = done
        self._last_t, self._last_frac = self._t0, done / self._total
        self._print()

    def _print(self) -> None:
        elapsed = time.monotonic() - self._t0
        trained = self._done - self._done0
        if trained > 0 and self._done < self._total:
            eta = f"{elapsed * (self._total - self._done) / trained:.0f}s"
        else:
            eta = "?" if self._done < self._total else "0s"
        print(
            f"{self._label}: {self._done}/{self._total} member-steps "
            f"({100 * self._done / self._total:.0f}%), members {self._members_done}/"
            f"{self._members}, elapsed {elapsed:.0f}s, ETA {eta}",
            file=self._stream,
            flush=True,
        )
        self._last_t, self._last_frac = time.monotonic(), self._done / self._total

    def advance(self, member_steps: int) -> None:
        self._done += member_steps
        now = time.monotonic()
        if self._done < self._total and (
            self._done / self._total - self._last_frac >= self._every_fraction - 1e-9
            or now - self._last_t >= self._every_s
        ):
            self._print()

    def group_done(self, members: int) -> None:
        self._members_done += members

    def close(self) -> None:
        if getattr(self, "_t0", None) is not None:  # the final line: where it ended
            self._print()
            self._t0 = None


def auto(stream: IO[str] | None = None) -> SweepProgress:
    """A bar in a notebook or on a terminal, plain lines when the stream is not a terminal."""
    stream = stream if stream is not None else sys.stderr
    if "ipykernel" in sys.modules:
        return Bar(stream, notebook=True)
    isatty = getattr(stream, "isatty", None)
    return Bar(stream) if isatty is not None and isatty() else Lines(stream)
