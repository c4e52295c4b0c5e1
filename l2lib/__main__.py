"""``python -m l2lib``: see :mod:`l2lib.cli`."""

from __future__ import annotations

import sys

from l2lib.cli import main

if __name__ == "__main__":
    sys.exit(main())
