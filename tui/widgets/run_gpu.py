"""The GPUs a run's processes use: now, at peak, and recent history."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from common.models import GpuSnapshot, RunGpu

from ..drawing import sparkline
from ..format import size

__all__ = ["RunGpuPanel"]


class RunGpuPanel(Widget):
    DEFAULT_CSS = """
    RunGpuPanel {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.gpu: RunGpu | None = None
        self.server: GpuSnapshot | None = None

    def show(self, gpu: RunGpu | None, server: GpuSnapshot | None) -> None:
        lines = 1 + 2 * len(gpu.gpus) if gpu else 1
        relayout = lines != (1 + 2 * len(self.gpu.gpus) if self.gpu else 1)
        self.gpu, self.server = gpu, server
        self.refresh(layout=relayout)

    def render(self) -> Text:
        gpu = self.gpu
        if gpu is None:
            if self.server is not None and not self.server.available:
                return Text(f"No GPU telemetry on the server: {self.server.reason or 'unknown'}",
                            style="yellow")
            return Text("No GPU use seen for this run.", style="dim")
        util = "—" if gpu.utilization is None else f"{gpu.utilization:.0f}%"
        out = Text.assemble(
            ("GPU ", "dim"), ", ".join(str(i) for i in gpu.gpus) or "—",
            ("  util ", "dim"), util,
            ("  memory ", "dim"), size(gpu.memory_used),
            ("  peak ", "dim"), size(gpu.peak_memory_used),
            ("  pids ", "dim"), " ".join(str(p) for p in gpu.pids) or "—",
        )
        width = max(self.size.width - 30, 10)
        for index in gpu.gpus:
            points = [p for p in gpu.history if p.gpu_index == index]
            util_spark = sparkline([p.utilization for p in points], width, high=100.0)
            out.append(f"\nGPU {index} util   ", style="dim")
            out.append(util_spark, style="cyan")
            peak = max((p.memory_used for p in points), default=0) or 1
            mem_spark = sparkline([p.memory_used for p in points], width, high=float(peak))
            out.append(f"\nGPU {index} memory ", style="dim")
            out.append(mem_spark, style="magenta")
        return out
