"""The Trainyard app: the API client, the link to the server, GPU samples, navigation.

Screens fetch and follow what they show themselves (see :mod:`tui.remote`); the app owns
what they share: the client, the :class:`~tui.link.Link` that notices the server going
away and comes back to it, the GPU sample stream (so the GPU view has history from the
start), the clock (fixed in snapshot tests) and the error reporting.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

import msgspec
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from common.client import ApiError
from common.models import GpuSnapshot

from .api import UNREACHABLE, Api
from .format import api_error_text, unreachable_text
from .gpu_history import GpuHistory
from .link import Link, LinkState
from .refusal import MIN_SERVER_API, Refusal
from .remote import fetch, follow
from .screens import GpusScreen, HelpScreen, ProjectsScreen, QueueScreen, RefusedScreen

__all__ = ["TrainyardApp"]


_heap_settled = False


def _settle_heap() -> None:
    """Once per process, at the first mount: leave what is loaded by then (modules, CSS,
    the app) out of the collector's full passes. Each full pass scanned all of it and
    stalled the event loop ~33 ms, the longest stalls left beside a busy run (gc
    callbacks over bench/tui_responsiveness.py). What is made later is collected as
    before, but with a young generation of 5,000 objects rather than 700: a redraw's
    short-lived strips and segments then die young instead of being promoted, and the
    full passes (~20 ms each) went from 7 to 1 in the bench's 8 s beside a busy run."""
    global _heap_settled
    if not _heap_settled:
        _heap_settled = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(5_000, 10, 10)


class TrainyardApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Trainyard"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("g", "gpus", "GPUs"),
        Binding("u", "queue", "Queue"),
        Binding("q", "leave", "Quit"),
    ]

    link_state: reactive[LinkState] = reactive(LinkState, always_update=True)
    refusal: reactive[Refusal | None] = reactive(None, always_update=True)
    gpu_snapshot: reactive[GpuSnapshot | None] = reactive(None, always_update=True)

    def __init__(self, api: Api, *, url: str, clock: Callable[[], datetime] | None = None,
                 tz: tzinfo | None = None, ansi: bool = False) -> None:
        super().__init__(ansi_color=ansi or None)
        self.ansi = ansi  # the terminal's own 16 colours and background
        self.api = api
        self.url = url
        self.tz = tz
        self._clock = clock or (lambda: datetime.now(UTC))
        self.link = Link(api.ping, self._link_changed)
        self.gpu_history = GpuHistory()
        self.project_names: dict[str, str] = {}  # id -> name, for views that show ids

    def now(self) -> datetime:
        return self._clock()

    def notify(self, message: str, *, title: str = "",
               severity: SeverityLevel = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """As App.notify, but plain text by default: messages carry names and server
        text, where brackets are not markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout,
                       markup=markup)

    def get_default_screen(self) -> Screen[None]:
        return ProjectsScreen()

    def on_mount(self) -> None:
        if self.ansi:
            self.theme = "ansi-dark"
        _settle_heap()
        self._follow_gpus()
        self._check_server()

    async def on_unmount(self) -> None:
        await self.link.close()
        await self.api.aclose()

    # -- the server link ----------------------------------------------------------------
    def _link_changed(self, state: LinkState) -> None:
        was_online = self.link_state.online
        self.link_state = state
        if state.online and not was_online:
            self.notify(f"Reconnected to {self.url}", title="Server is back")

    # -- the server refusing this client ------------------------------------------------
    @work(exclusive=True, group="check", exit_on_error=False)
    async def _check_server(self) -> None:
        api = await fetch(self.link, self.api.server_api)
        if api is None or api < MIN_SERVER_API:
            said = f"it speaks API {api}" if api is not None else "it reports no API version"
            self.refuse(Refusal("version", said))

    def refuse(self, refusal: Refusal) -> None:
        """Show the refusal on the top line and on its own screen (once)."""
        if self.refusal is not None:
            return
        self.refusal = refusal
        self.push_screen(RefusedScreen(refusal))

    def token_accepted(self) -> None:
        """A typed token works: start over from the projects list with it."""
        self.refusal = None
        self.call_later(self._fresh_start)

    async def _fresh_start(self) -> None:
        """The views behind a refusal stopped at the 401: rebuild them from the list."""
        for _ in range(len(self.screen_stack) - 1):
            await self.pop_screen()
        if isinstance(self.screen, ProjectsScreen):
            self.screen.start()
        self._follow_gpus()
        self.notify("Token accepted", title="Connected")

    def report(self, error: BaseException) -> None:
        """Tell the user what went wrong: the server's own message for an API error."""
        if isinstance(error, ApiError) and error.status_code == 401:
            self.refuse(Refusal("token", f"{error.status_code} {error.body.message}"))
        elif isinstance(error, ApiError):
            self.notify(api_error_text(error), title=f"{error.code} ({error.status_code})",
                        severity="error", timeout=10)
        elif isinstance(error, UNREACHABLE):
            self.link.lost(error)
            self.notify(f"Server unreachable ({unreachable_text(error)}): nothing was done.",
                        severity="warning", timeout=6)
        else:
            self.notify(f"{type(error).__name__}: {error}", severity="error", timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers (screens report theirs: the message does not bubble)."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.report(event.worker.error)

    # -- GPU samples ------------------------------------------------------------------
    @work(exclusive=True, group="gpus", exit_on_error=False)
    async def _follow_gpus(self) -> None:
        self._add_gpu_sample(await fetch(self.link, self.api.gpus))
        stream = follow(self.link, lambda last: self.api.events("/gpus/events",
                                                                last_event_id=last))
        async for event in stream:
            if event.event == "gpus":
                self._add_gpu_sample(msgspec.convert(event.data, GpuSnapshot))
            elif event.event == "reset":  # a restarted server: no replay, take the latest
                self._add_gpu_sample(await fetch(self.link, self.api.gpus))

    def _add_gpu_sample(self, snapshot: GpuSnapshot) -> None:
        self.gpu_history.add(snapshot)
        self.gpu_snapshot = snapshot

    # -- navigation -------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A dialog is open: its keys only (esc closes it; ctrl+q still quits).
        return not (action in ("help", "gpus", "queue", "leave")
                    and isinstance(self.screen, ModalScreen))

    async def action_leave(self) -> None:
        self.exit()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_gpus(self) -> None:
        if not isinstance(self.screen, GpusScreen):
            self.push_screen(GpusScreen())

    def action_queue(self) -> None:
        if not isinstance(self.screen, QueueScreen):
            self.push_screen(QueueScreen())
