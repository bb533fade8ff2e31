"""The footer of keys, redrawn only when the keys it shows change.

Textual's Footer rebuilds all its key widgets (mounting each, applying CSS) whenever the
screen's bindings are refreshed: after every tab switch, focus change and status change,
even when the same keys come out. Profiling the run view beside a run printing 5,000
lines/s (cProfile, bench/tui_responsiveness.py) found those rebuilds the largest single
cost of a key press; this footer skips the rebuild when the same keys are shown, and
only greys out or lights up the keys whose state changed.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["KeysFooter"]


Keys = tuple[tuple[object, ...], ...]


def shown_keys(screen: Screen[Any]) -> tuple[Keys, dict[str, bool]]:
    """What the footer shows (keys, names), and which actions are enabled."""
    active = [(key, binding, enabled, tooltip) for key, (_node, binding, enabled, tooltip)
              in screen.active_bindings.items() if binding.show]
    keys = tuple((key, b.action, b.description, b.key_display, tooltip)
                 for key, b, _enabled, tooltip in active)
    return keys, {b.action: enabled for _key, b, enabled, _tooltip in active}


class KeysFooter(Footer):
    _shown: Keys | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        will_draw = screen.app.app_focus and self.is_attached and screen is self.screen
        if will_draw:
            shown, enabled = shown_keys(screen)
            if shown == self._shown:
                # The same keys: at most one greys out or lights up, in place.
                self._bindings_ready = True
                for key in self.query(FooterKey):
                    disabled = not enabled.get(key.action, True)
                    if key._disabled != disabled:
                        key._disabled = disabled
                        key.set_class(disabled, "-disabled")
                return
            self._shown = shown
        super().bindings_changed(screen)
