"""Every view, pictured on fixed data (tests/tui/frozen.py) at fixed sizes.

Update after an intended change with ``pytest tests/tui/test_snapshots.py
--snapshot-update``, look at the SVGs, and refresh docs/tui with
``python -m tests.tui.views docs/tui``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.tui.views import VIEWS, frozen_app


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view(name: str, snap_compare: Callable[..., bool]) -> None:
    view = VIEWS[name]
    assert snap_compare(frozen_app(no_gpu=view.no_gpu), terminal_size=view.size,
                        run_before=view.steps)
