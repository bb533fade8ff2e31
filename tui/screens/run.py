"""One run, live: status and progress, metrics and the loss chart, the log, artifacts,
its GPUs; cancel or pause it, resume it from a checkpoint, relaunch it."""

from __future__ import annotations

import msgspec
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static, TabbedContent, TabPane

from common.client import ServerEvent
from common.models import GpuSnapshot, MetricSeries, Queue, RunDetail

from ..remote import changes, fetch, follow
from ..run_model import RunModel, chart_keys
from ..widgets import (
    ArtifactsTable,
    LineChart,
    LogView,
    MetricsPanel,
    RunDetails,
    RunGpuPanel,
    RunHeader,
)
from .run_actions import RunActions

__all__ = ["RunScreen"]

REDRAW_EVERY = 0.2  # seconds: events are applied at once, drawn at most this often
LOG_TAIL = 2000  # log lines (at most) fetched when the view opens; older ones: the API
METRICS_PAGE = 10_000  # the server's default page of metric points
TABS = Binding.Group("Tabs", compact=True)


class RunScreen(RunActions):
    GUIDE = ("The log follows new lines; scrolling up (or f) pauses it, f or end jumps back "
             "to the end; / filters it; w wraps long lines (unwrapped, ← → scroll them). "
             "s shows the whole status line. Cancel and pause ask for a grace period and keep "
             "the newest checkpoint (★ kept). r shows the checkpoints: pick one and press r "
             "or enter to resume from it as a new run. R starts the same command again.")
    BINDINGS = [
        Binding("c", "cancel", "Cancel"),
        Binding("p", "pause", "Pause"),
        Binding("r", "resume", "Resume"),
        Binding("R", "relaunch", "Relaunch", key_display="R"),
        Binding("f", "follow", "Follow"),
        Binding("w", "wrap", "Wrap"),
        Binding("s", "status", "Status"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("end", "jump_end", "End of log", show=False),
        Binding("1", "show_tab('tab-log')", "Log", group=TABS),
        Binding("2", "show_tab('tab-artifacts')", "Artifacts", group=TABS),
        Binding("3", "show_tab('tab-gpu')", "GPU", group=TABS),
        Binding("4", "show_tab('tab-details')", "Details", group=TABS),
    ]

    class Loaded(Message):
        def __init__(self, model: RunModel) -> None:
            super().__init__()
            self.model = model

    class Event(Message):
        def __init__(self, event: ServerEvent) -> None:
            super().__init__()
            self.event = event

    class QueueChanged(Message):
        def __init__(self, queue: Queue) -> None:
            super().__init__()
            self.queue = queue

    class Refreshed(Message):
        """A fresh detail: after the run ended, or a stop request came back."""

        def __init__(self, detail: RunDetail, stopped: bool = False) -> None:
            super().__init__()
            self.detail, self.stopped = detail, stopped

    def __init__(self, project_id: str, run_id: str, project_name: str | None = None) -> None:
        super().__init__()
        self.project_id, self.run_id = project_id, run_id
        self.project_name = project_name or project_id
        self.model: RunModel | None = None
        self.stopping: str | None = None
        self._dirty: set[str] = set()
        self._gpus_available: bool | None = None

    def crumbs(self) -> tuple[str, ...]:
        return (self.project_name, self.run_id)

    def compose_body(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        with Horizontal(id="run-charts"):
            yield MetricsPanel(id="metrics")
            yield LineChart(id="chart")
        with TabbedContent(id="run-tabs", initial="tab-log"):
            with TabPane("1 Log", id="tab-log"):
                yield LogView(tz=self.tapp.tz, id="log")
            with TabPane("2 Artifacts", id="tab-artifacts"), Vertical():
                yield ArtifactsTable(id="artifacts")
                yield Static("", id="artifact-path")
            with TabPane("3 GPU", id="tab-gpu"):
                yield RunGpuPanel(id="run-gpu")
            with TabPane("4 Details", id="tab-details"), VerticalScroll():
                yield RunDetails(id="details")

    def on_mount(self) -> None:
        self._stream()
        self.set_interval(1.0, self._tick)
        self.watch(self.tapp, "gpu_snapshot", self._gpus_sampled, init=False)

    # -- data -------------------------------------------------------------------------
    @work(exclusive=True, group="stream", exit_on_error=False)
    async def _stream(self) -> None:
        api, link, project, run = self.tapp.api, self.tapp.link, self.project_id, self.run_id
        detail = await fetch(link, lambda: api.get_run(project, run))
        model = RunModel(detail)
        # The log's tail up to the newest line the detail has, then the stream from
        # there: what the detail already holds is replayed harmlessly, nothing is missed.
        last = detail.logs[-1].seq if detail.logs else 0
        if last:
            page = await fetch(link, lambda: api.logs(project, run, after=max(last - LOG_TAIL, 0),
                                                      limit=LOG_TAIL))
            model.lines.extend(e for e in page.entries if e.seq <= last)
            model.last_event_id = str(last)
        for key in chart_keys(detail.metrics):
            model.add_series(await self._series(key))
        self.post_message(self.Loaded(model))
        async for event in follow(link, lambda last_id: api.run_events(
                project, run, last_event_id=last_id), model.last_event_id):
            self.post_message(self.Event(event))
        final = await fetch(link, lambda: api.get_run(project, run))
        self.post_message(self.Refreshed(final))

    @work(exclusive=True, group="queue", exit_on_error=False)
    async def _follow_queue(self) -> None:
        """While the run waits for GPUs: its place and reason, from the queue events."""
        api, link = self.tapp.api, self.tapp.link
        async for event in changes(link, api):
            if self.model is None or self.model.detail.status != "pending":
                return
            if event.event == "queue":
                self.post_message(self.QueueChanged(msgspec.convert(event.data, Queue)))
            elif event.event == "reset":
                self.post_message(self.QueueChanged(await fetch(link, api.queue)))

    async def _series(self, key: str) -> dict[str, list[tuple[int, float]]]:
        api = self.tapp.api
        points: list[tuple[int, float]] = []
        after = -1

        async def page() -> MetricSeries:
            return await api.metrics(self.project_id, self.run_id, keys=[key], after_step=after)

        while True:
            got = (await fetch(self.tapp.link, page)).series.get(key, [])
            points.extend(got)
            if len(got) < METRICS_PAGE:
                return {key: points}
            after = got[-1][0]

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.model = message.model
        self.query_one(LogView).reset(self.model.lines)
        self._draw_all()
        self.refresh_bindings()  # cancel/pause or resume/relaunch, now that it is known
        if self.model.detail.status == "pending":
            self._follow_queue()

    @on(QueueChanged)
    def _queue_changed(self, message: QueueChanged) -> None:
        if self.model is not None and self.model.apply_queue(message.queue):
            self._draw_header()
            self._draw_details()

    @on(Event)
    def _event(self, message: Event) -> None:
        if self.model is None:
            return
        if not self._dirty:
            self.set_timer(REDRAW_EVERY, self._redraw_changed)
        was_pending = self.model.detail.status == "pending"
        self._dirty |= self.model.apply(message.event) or {"nothing"}
        if was_pending and self.model.detail.status != "pending":
            self.workers.cancel_group(self, "queue")  # no longer waiting: close the stream
            self._started()  # its start time and the GPUs it was given

    @work(exclusive=True, group="started", exit_on_error=False)
    async def _started(self) -> None:
        api, project, run = self.tapp.api, self.project_id, self.run_id
        self.post_message(self.Refreshed(await fetch(self.tapp.link,
                                                     lambda: api.get_run(project, run))))

    def _redraw_changed(self) -> None:
        """Draw what the events since the last call changed: a busy stream costs a few
        redraws a second, not one per event."""
        changed, self._dirty = self._dirty, set()
        if self.model is None:
            return
        if "log" in changed:
            self.query_one(LogView).add(self.model.take_new_lines())
        if changed & {"status", "progress"}:
            self._draw_header()
        if "status" in changed:
            self.refresh_bindings()
            self._draw_details()
        if "metrics" in changed:
            self._draw_metrics()
        if "artifacts" in changed:
            self._draw_artifacts()
        if "gpu" in changed:
            self._draw_gpu()

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        if self.model is None:
            return
        self.model.replace_detail(message.detail)
        self._draw_all()
        self.refresh_bindings()
        if message.stopped:
            self.notify(message.detail.status_message or message.detail.status,
                        title=f"Run {message.detail.status}")
            self.show_checkpoints()

    # -- drawing ----------------------------------------------------------------------
    def _tick(self) -> None:
        if self.model is not None and not self.model.finished:
            self._draw_header()

    def _draw_all(self) -> None:
        self._draw_header()
        self._draw_metrics()
        self._draw_artifacts()
        self._draw_gpu()
        self._draw_details()

    def _draw_header(self) -> None:
        if self.model is not None:
            self.query_one(RunHeader).show(self.model.detail, self.tapp.now(), self.stopping)

    def _draw_metrics(self) -> None:
        if self.model is None:
            return
        metrics = self.model.detail.metrics
        self.query_one(MetricsPanel).show(metrics)
        self.query_one(LineChart).show(self.model.series, chart_keys(metrics))

    def _draw_artifacts(self) -> None:
        if self.model is None:
            return
        artifacts = self.model.artifact_list()
        kept = {a.id for a in artifacts if self.model.is_kept(a)}
        self.query_one(ArtifactsTable).show(artifacts, kept, self.tapp.now())
        checkpoints = sum(a.type == "checkpoint" for a in artifacts)
        tab = self.query_one(TabbedContent).get_tab("tab-artifacts")
        label = f"2 Artifacts ({checkpoints} ckpt)"
        if str(tab.label) != label:
            tab.label = label
            if self.model.finished:
                self.refresh_bindings()  # resume needs a checkpoint

    def _gpus_sampled(self, snapshot: GpuSnapshot | None) -> None:
        """The panel only shows the server's GPU state when it has none: redraw on change."""
        available = snapshot is not None and snapshot.available
        if available != self._gpus_available:
            self._gpus_available = available
            self._draw_gpu()

    def _draw_gpu(self) -> None:
        if self.model is not None:
            self.query_one(RunGpuPanel).show(self.model.gpu, self.tapp.gpu_snapshot)

    def _draw_details(self) -> None:
        if self.model is not None:
            self.query_one(RunDetails).show(self.model.detail, self.tapp.tz)

    # -- what the actions need -----------------------------------------------------------
    def _stopped(self, detail: RunDetail) -> None:
        self.post_message(self.Refreshed(detail, stopped=True))

    def _open_run(self, run: RunDetail | None) -> None:
        if run is not None:
            self.app.switch_screen(RunScreen(self.project_id, run.id, self.project_name))
