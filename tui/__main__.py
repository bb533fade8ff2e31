"""``python -m tui``: the same as ``trainyard tui``."""

from __future__ import annotations

import sys

from .cli import main

raise SystemExit(main(sys.argv[1:]))
