"""Widgets of the Trainyard TUI; each draws one thing from data it is handed."""

from __future__ import annotations

from .artifacts_table import ArtifactsTable
from .chart import LineChart
from .compare_table import CompareTable
from .gpu_card import GpuCard
from .line import Line
from .log_view import LogView
from .metrics_panel import MetricsPanel
from .placement_fields import PlacementFields
from .project_fields import ProjectFields
from .projects_table import ProjectsTable
from .queue_table import QueueTable
from .run_details import RunDetails
from .run_gpu import RunGpuPanel
from .run_header import RunHeader
from .runs_table import RunsTable
from .top_bar import TopBar

__all__ = [
    "ArtifactsTable",
    "CompareTable",
    "GpuCard",
    "Line",
    "LineChart",
    "LogView",
    "MetricsPanel",
    "PlacementFields",
    "ProjectFields",
    "ProjectsTable",
    "QueueTable",
    "RunDetails",
    "RunGpuPanel",
    "RunHeader",
    "RunsTable",
    "TopBar",
]
