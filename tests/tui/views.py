"""Each view of the app on fixed data, ready to be screenshotted: the snapshot tests
compare them, ``python -m tests.tui.views docs/tui`` writes them as SVGs for the docs."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.frozen import (
    NO_GPUS,
    NOW,
    PROJECT_ID,
    PROJECTS,
    RUN_ID,
    URL,
    WAITING,
    FrozenApi,
    gpu_samples,
)
from tests.tui.helpers import wait_for
from tui.app import TrainyardApp
from tui.link import LinkState
from tui.refusal import Refusal
from tui.screens.compare import CompareScreen
from tui.screens.project import ProjectScreen
from tui.screens.projects import ProjectsScreen
from tui.screens.queue import QueueScreen
from tui.screens.refused import RefusedScreen
from tui.screens.run import RunScreen
from tui.widgets import LogView

Steps = Callable[[Pilot[None]], Awaitable[None]]


def frozen_app(*, no_gpu: bool = False) -> TrainyardApp:
    api = FrozenApi([NO_GPUS] if no_gpu else gpu_samples())
    return TrainyardApp(api, url=URL, clock=lambda: NOW, tz=UTC)


async def settle(pilot: Pilot[None]) -> None:
    for field in pilot.app.query(Input):  # no blinking cursor in a still picture
        field.cursor_blink = False
    await pilot.pause()


async def projects(pilot: Pilot[None]) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ProjectsScreen)
                   and len(app.screen.projects) == 3, what="projects")
    await settle(pilot)


async def projects_mine(pilot: Pilot[None]) -> None:
    await projects(pilot)
    await pilot.press("m")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ProjectsScreen) and app.screen.loaded
                   and len(app.screen.projects) == 1, what="only my projects")
    await settle(pilot)


async def project(pilot: Pilot[None]) -> None:
    await projects(pilot)
    await pilot.press("enter")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ProjectScreen)
                   and len(app.screen.details) == 3, what="project and run details")
    await settle(pilot)


async def run(pilot: Pilot[None]) -> None:
    """Straight to the run (the live tests walk there through the lists)."""
    await projects(pilot)
    app = pilot.app
    app.push_screen(RunScreen(PROJECT_ID, RUN_ID, PROJECTS[0].name))
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen)
                   and app.screen.model is not None and app.screen.run_id == RUN_ID
                   and bool(app.screen.query_one(LogView).entries), what="the run")
    await settle(pilot)


async def run_waiting(pilot: Pilot[None]) -> None:
    """A run waiting for GPUs, opened from the queue view."""
    await queue(pilot)
    await pilot.press("enter")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen)
                   and app.screen.model is not None and app.screen.run_id == WAITING.id
                   and bool(app.screen.query_one(LogView).entries), what="the waiting run")
    await settle(pilot)


async def compare(pilot: Pilot[None]) -> None:
    """Three runs marked in the project view (m, down, ...), then c."""
    await project(pilot)
    await pilot.press("m", "down", "m", "down", "m", "c")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                   and app.screen.result is not None, what="the comparison")
    await settle(pilot)


async def gpus(pilot: Pilot[None]) -> None:
    await projects(pilot)
    app = pilot.app
    assert isinstance(app, TrainyardApp)
    await wait_for(pilot, lambda: app.gpu_snapshot is not None
                   and app.gpu_history.latest is app.gpu_snapshot, what="GPU samples")
    await pilot.press("g")
    await settle(pilot)


async def queue(pilot: Pilot[None]) -> None:
    await projects(pilot)
    await pilot.press("u")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen)
                   and app.screen.queue is not None, what="the queue")
    await settle(pilot)


def keys(before: Steps, *pressed: str) -> Steps:
    async def steps(pilot: Pilot[None]) -> None:
        await before(pilot)
        await pilot.press(*pressed)
        await settle(pilot)
    return steps


async def refused_token(pilot: Pilot[None]) -> None:
    await projects(pilot)
    app = pilot.app
    assert isinstance(app, TrainyardApp)
    app.refuse(Refusal("token", "401 invalid token"))
    await wait_for(pilot, lambda: isinstance(app.screen, RefusedScreen), what="refused")
    await settle(pilot)


async def offline(pilot: Pilot[None]) -> None:
    await projects(pilot)
    app = pilot.app
    assert isinstance(app, TrainyardApp)
    app.link_state = LinkState(online=False, reason="cannot connect", attempts=3)
    await settle(pilot)


@dataclass(frozen=True)
class View:
    steps: Steps
    size: tuple[int, int] = (120, 36)
    no_gpu: bool = False


_VIEWS: dict[str, View] = {
    "projects": View(projects),
    "projects-offline": View(offline),
    "projects-mine": View(projects_mine),
    "refused-token": View(refused_token),
    "project": View(project),
    "project-edit": View(keys(project, "e")),
    "new-run": View(keys(project, "n")),
    "run": View(run),
    "run-artifacts": View(keys(run, "2")),
    # Focus moves back to the log: its tint returns, the table's goes (the screen no
    # longer repaints whole on focus changes, tui/screens/base.py).
    "run-log-again": View(keys(run, "2", "1")),
    "run-gpu": View(keys(run, "3")),
    "run-details": View(keys(run, "4")),
    "run-cancel": View(keys(run, "c")),
    "help": View(keys(run, "question_mark")),
    "compare": View(compare),
    "compare-80x24": View(compare, (80, 24)),
    "project-marked": View(keys(project, "m", "down", "down", "m")),
    "gpus": View(gpus),
    "gpus-unavailable": View(gpus, no_gpu=True),
    "queue": View(queue),
    "run-waiting": View(run_waiting),
    "run-waiting-details": View(keys(run_waiting, "4")),
}
# Every view at the default size, at the smallest terminal people use (80x24) and at a
# large one (200x50).
VIEWS: dict[str, View] = {
    f"{name}{suffix}": View(view.steps, size, view.no_gpu)
    for name, view in _VIEWS.items()
    for suffix, size in (("", view.size), ("-80x24", (80, 24)), ("-200x50", (200, 50)))
}


def main(folder: str) -> None:
    from textual._doc import take_svg_screenshot

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, view in VIEWS.items():
        if name.endswith("-200x50"):  # the docs show the usual and the smallest sizes
            continue
        svg = take_svg_screenshot(app=frozen_app(no_gpu=view.no_gpu), terminal_size=view.size,
                                  run_before=view.steps, title=f"trainyard tui — {name}")
        (out / f"{name}.svg").write_text(svg)
        print(out / f"{name}.svg")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/tui")
