"""The views (one per module) and the dialogs of the Trainyard TUI."""

from __future__ import annotations

from .gpus import GpusScreen
from .help import HelpScreen
from .new_run import NewRunDialog
from .project import ProjectScreen
from .project_form import ProjectForm
from .projects import ProjectsScreen
from .queue import QueueScreen
from .refused import RefusedScreen
from .resume import ResumeDialog
from .run import RunScreen
from .stop_run import StopRunDialog

__all__ = [
    "GpusScreen",
    "HelpScreen",
    "NewRunDialog",
    "ProjectForm",
    "ProjectScreen",
    "ProjectsScreen",
    "QueueScreen",
    "RefusedScreen",
    "ResumeDialog",
    "RunScreen",
    "StopRunDialog",
]
