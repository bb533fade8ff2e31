"""One GPU, nvitop-style: utilisation and memory bars with history, heat, power, the run
the queue gave it to, the runs and outside processes using it."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from common.models import GpuDevice, GpuHolder

from ..drawing import bar, sparkline
from ..format import size

__all__ = ["GpuCard", "load_style"]

BAR_MAX = 40


def load_style(percent: float | None) -> str:
    if percent is None:
        return "dim"
    return "red" if percent >= 90 else "yellow" if percent >= 60 else "green"


class GpuCard(Widget):
    DEFAULT_CSS = """
    GpuCard {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
    }
    """

    def __init__(self, device: GpuDevice, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.device = device
        self.util_history: list[float | None] = []
        self.memory_history: list[float | None] = []
        self.project_names: dict[str, str] = {}
        self.holder: GpuHolder | None = None  # from GET /queue: its run, outside processes

    def show(self, device: GpuDevice, util_history: list[float | None],
             memory_history: list[float | None], project_names: dict[str, str],
             holder: GpuHolder | None = None) -> None:
        self.device, self.holder = device, holder
        self.util_history, self.memory_history = util_history, memory_history
        self.project_names = project_names
        self.refresh()  # always four lines: no new layout needed

    def render(self) -> Text:
        gpu = self.device
        width = max(self.size.width - 2, 40)
        head = Text.assemble((f"GPU {gpu.index} ", "bold"), gpu.name)
        facts = []
        if gpu.temperature is not None:
            facts.append(f"{gpu.temperature:.0f}°C")
        if gpu.power_watts is not None:
            limit = f" / {gpu.power_limit_watts:.0f}" if gpu.power_limit_watts else ""
            facts.append(f"{gpu.power_watts:.0f}{limit} W")
        tail = "   ".join(facts)
        head.append(" " * max(width - head.cell_len - len(tail), 2) + tail)

        memory_pct = (gpu.memory_used / gpu.memory_total * 100
                      if gpu.memory_used is not None and gpu.memory_total else None)
        util_label = "—" if gpu.utilization is None else f"{gpu.utilization:.0f}%"
        memory_label = f"{size(gpu.memory_used)} / {size(gpu.memory_total)}"
        # "  util " + bar + " " + 19-cell value + " " + history = width
        bar_width = min(max((width - 28) // 2, 8), BAR_MAX)
        history_width = max(width - bar_width - 28, 4)
        return Text("\n").join([
            head,
            self._meter("util", gpu.utilization, util_label, bar_width,
                        self.util_history, history_width),
            self._meter("mem ", memory_pct, memory_label, bar_width,
                        self.memory_history, history_width),
            self._processes(width)])

    @staticmethod
    def _meter(label: str, percent: float | None, value: str, bar_width: int,
               history: list[float | None], history_width: int) -> Text:
        filled, empty = bar(None if percent is None else percent / 100, bar_width)
        return Text.assemble(
            (f"  {label} ", "dim"), (filled, load_style(percent)), (empty, "dim"),
            f" {value:<19} ", (sparkline(history, history_width, high=100.0), "cyan"))

    def _processes(self, width: int) -> Text:
        holder = self.holder
        foreign = holder.foreign if holder else []
        # The queue names the processes outside Trainyard that keep runs off this GPU
        # (with their names): those are shown from there, the sampler's bare pids not.
        processes = [p for p in self.device.processes
                     if p.run_id or not any(f.startswith(f"pid {p.pid} ") for f in foreign)]
        out = Text("  ")
        if holder is not None and holder.run_id:
            out.append("given to ", style="dim")
            out.append(holder.run_id, style="bold green")
            out.append(self._project_of(holder.run_id))
        elif holder is not None and not holder.readable:
            out.append("unreadable: not handed out", style="yellow")
        for found in foreign:
            if out.cell_len > 2:
                out.append(" · ", style="dim")
            out.append(f"outside Trainyard: {found}", style="yellow")
        if not processes and out.cell_len == 2:
            return Text("  free · no processes" if holder is not None else "  no processes",
                        style="dim")
        for proc in processes:
            if out.cell_len > 2:
                out.append(" · ", style="dim")
            if proc.run_id and holder is not None and proc.run_id == holder.run_id:
                out.append(f"pid {proc.pid} {size(proc.used_memory)}", style="dim")
                continue
            if proc.run_id:
                out.append(proc.run_id, style="bold")
                project = self.project_names.get(proc.project_id or "", proc.project_id)
                if project:
                    out.append(f" ({project})")
            else:
                out.append("other process", style="dim")
            out.append(f" pid {proc.pid} {size(proc.used_memory)}", style="dim")
        out.truncate(width, overflow="ellipsis")
        return out

    def _project_of(self, run_id: str) -> str:
        for proc in self.device.processes:
            if proc.run_id == run_id and proc.project_id:
                return f" ({self.project_names.get(proc.project_id, proc.project_id)})"
        return ""
