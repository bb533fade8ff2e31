"""Workers' failures, told to the user: a worker's StateChanged does not bubble, so
every screen that runs workers hands its failed ones to the app's ``report``."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from ..app import TrainyardApp

__all__ = ["ReportsWorkerErrors"]


class ReportsWorkerErrors(MessagePump):
    @property
    def tapp(self) -> TrainyardApp:
        return cast("TrainyardApp", self.app)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.tapp.report(event.worker.error)
