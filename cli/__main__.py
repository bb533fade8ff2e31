from __future__ import annotations

import sys

from .main import main

raise SystemExit(main(sys.argv[1:]))
