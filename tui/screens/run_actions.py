"""What you do in the run view: stop it (cancel or pause), resume it from a checkpoint,
relaunch it, switch tabs, steer the log. Mixed into :class:`~tui.screens.run.RunScreen`,
which provides the data and the drawing."""

from __future__ import annotations

import httpx
from textual import on, work
from textual.widgets import DataTable, Static, TabbedContent

from common.models import Artifact, RunDetail

from ..run_model import RunModel
from ..widgets import ArtifactsTable, LogView
from .base import ViewScreen
from .new_run import NewRunDialog
from .resume import ResumeDialog
from .stop_run import StopRunDialog

__all__ = ["RunActions"]


class RunActions(ViewScreen):
    project_id: str
    run_id: str
    project_name: str
    model: RunModel | None
    stopping: str | None  # "canceling" or "pausing" while a stop request is under way

    # -- provided by the run screen ---------------------------------------------------
    def _draw_header(self) -> None:
        raise NotImplementedError

    def _stopped(self, detail: RunDetail) -> None:
        raise NotImplementedError

    def _open_run(self, run: RunDetail | None) -> None:
        raise NotImplementedError

    # -- which keys apply now ---------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        model = self.model
        live = model is not None and not model.finished
        if action in ("cancel", "pause"):
            return live and self.stopping is None
        if action in ("resume", "relaunch"):
            if model is None or live:
                return False
            if action == "resume" and not self._checkpoints():
                return None  # shown greyed: nothing to resume from
            return True
        if action in ("follow", "search", "jump_end", "wrap"):
            # Shown greyed on the other tabs, not hidden: the footer keeps its keys and a
            # tab switch costs no rebuild of it.
            on_log = self.is_mounted and self.query_one(TabbedContent).active == "tab-log"
            return True if on_log else None
        return super().check_action(action, parameters)

    def _checkpoints(self) -> list[Artifact]:
        if self.model is None:
            return []
        return [a for a in self.model.artifact_list() if a.type == "checkpoint"]

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    # -- tabs and the log -------------------------------------------------------------
    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        focus = {"tab-log": "#log LogLines", "tab-artifacts": "#artifacts"}.get(tab)
        if focus:
            self.query_one(focus).focus()

    def action_follow(self) -> None:
        log = self.query_one(LogView)
        log.follow = not log.follow

    def action_wrap(self) -> None:
        """Long lines: wrapped, or one row each (scroll sideways with ← →)."""
        log = self.query_one(LogView)
        log.wrap = not log.wrap

    def action_status(self) -> None:
        """The whole status line, however narrow the terminal."""
        if self.model is None:
            return
        run = self.model.detail
        facts: list[str] = [run.status]
        if run.exit_code is not None:
            facts.append(f"exit code {run.exit_code}")
        if run.status_message:
            facts.append(run.status_message)
        self.notify(" · ".join(facts), title=f"Status of {self.run_id}", timeout=15)

    @on(DataTable.RowHighlighted, "#artifacts")
    def _artifact_highlighted(self) -> None:
        chosen = self.query_one(ArtifactsTable).selected
        self.query_one("#artifact-path", Static).update(
            f"path {chosen.path}" if chosen is not None else "")

    def action_jump_end(self) -> None:
        self.query_one(LogView).jump_to_end()

    def action_search(self) -> None:
        self.query_one(LogView).open_search()

    def action_back(self) -> None:
        log = self.query_one(LogView)
        if log.has_class("-searching"):
            log.close_search()
        else:
            super().action_back()

    # -- cancel and pause -------------------------------------------------------------
    def action_cancel(self) -> None:
        self._ask_stop(pause=False)

    def action_pause(self) -> None:
        self._ask_stop(pause=True)

    def _ask_stop(self, *, pause: bool) -> None:
        def confirmed(grace: float | None) -> None:
            if grace is not None:
                self._stop(grace, pause)

        self.app.push_screen(StopRunDialog(self.run_id, pause=pause), confirmed)

    @work(group="action", exit_on_error=False)
    async def _stop(self, grace: float, pause: bool) -> None:
        self.stopping = "pausing" if pause else "canceling"
        self._draw_header()
        self.refresh_bindings()
        self.notify(f"{self.stopping.capitalize()} {self.run_id}: signals its processes and "
                    f"waits up to {grace + 15:.0f} s", timeout=4)
        try:
            detail = await self.tapp.api.cancel(self.project_id, self.run_id,
                                                grace_seconds=grace, pause=pause)
        except httpx.TimeoutException:
            self.notify("The server is still stopping the run; its status will change here "
                        "when it is done.", severity="warning")
            return
        finally:
            self.stopping = None
            self._draw_header()
            self.refresh_bindings()
        self._stopped(detail)

    # -- resume and relaunch ----------------------------------------------------------
    def show_checkpoints(self) -> bool:
        """Show the artifacts tab with the kept (else newest) checkpoint selected."""
        checkpoints = self._checkpoints()
        if not checkpoints or self.model is None:
            return False
        self.action_show_tab("tab-artifacts")
        kept = [a for a in checkpoints if self.model.is_kept(a)]
        self.query_one(ArtifactsTable).select_key((kept or checkpoints)[0].id)
        return True

    def action_resume(self) -> None:
        chosen = self.query_one(ArtifactsTable).selected
        if (self.query_one(TabbedContent).active == "tab-artifacts" and chosen is not None
                and chosen.type == "checkpoint"):
            self._ask_resume(chosen)
        elif self.show_checkpoints():
            self.notify("Pick a checkpoint, then press r or enter.", timeout=4)
        else:
            self.notify("This run has no complete checkpoint to resume from.",
                        severity="warning")

    @on(DataTable.RowSelected, "#artifacts")
    def _artifact_chosen(self) -> None:
        chosen = self.query_one(ArtifactsTable).selected
        if chosen is not None and chosen.type == "checkpoint":
            self._ask_resume(chosen)

    def _ask_resume(self, checkpoint: Artifact) -> None:
        if self.model is None:
            return
        self.app.push_screen(ResumeDialog(self.project_id, self.model.detail, checkpoint),
                             self._open_run)

    def action_relaunch(self) -> None:
        if self.model is None:
            return
        run = self.model.detail
        self.app.push_screen(NewRunDialog(self.project_id, self.project_name,
                                          [run.start_command], title="Relaunch",
                                          gpus=run.gpus, priority=run.priority),
                             self._open_run)
