"""The app factory: wires settings, storage, executor and services into a Litestar app."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from .auth import DOCS_PATH, TokenAuth, TokenMiddleware
from .body_check import check_body
from .config import Settings
from .errors import to_response
from .executors.base import Executor
from .executors.docker import DockerExecutor
from .executors.local import LocalExecutor
from .executors.slurm import SlurmExecutor
from .routes.audit import AuditController
from .routes.body_checks import check_json_body
from .routes.compare import CompareController
from .routes.docs_pages import PinnedRedoc, PinnedSwagger
from .routes.gpus import GpuController
from .routes.health import HealthController
from .routes.projects import ProjectController
from .routes.prometheus import PrometheusController
from .routes.queue import QueueController
from .routes.runs import RunController
from .routes.runs_by_id import RunByIdController
from .routes.streams import StreamController
from .routes.users import UserController
from .routes.webhooks import WebhookController
from .services.audit import AuditLog
from .services.gpu_queue import GpuQueue
from .services.gpu_sampler import GpuSampler
from .services.recorder import RunRecorder
from .services.runs import RunService
from .services.stalls import StallWatch
from .services.streaming.events import RingChannel, keepalive
from .services.streaming.fanout import RunHub
from .services.streaming.streams import KEEPALIVE_SECONDS
from .services.supervisor import Supervisor
from .services.webhooks import WebhookSender
from .startup_check import unreachable
from .state import Services
from .stopping import Stopping
from .storage.audit import AuditRepository
from .storage.db import Database
from .storage.projects import ProjectRepository
from .storage.run_listing import RunListing
from .storage.runs import RunRepository
from .storage.tidying import Tidying
from .storage.webhooks import WebhookRepository
from .telemetry.gpu import GpuReader, make_reader

__all__ = ["create_app", "make_executor"]

log = logging.getLogger("trainyard")


def make_executor(settings: Settings) -> Executor:
    if settings.executor == "local":
        return LocalExecutor(runs_dir=settings.runs_dir, workspace_root=settings.workspace_root)
    if settings.executor == "slurm":
        return SlurmExecutor(run_root=settings.slurm_runs, workspace_root=settings.workspace_root,
                             partition=settings.slurm_partition, account=settings.slurm_account,
                             extra_args=settings.slurm_args, prefix=settings.slurm_prefix)
    return DockerExecutor(workspace_root=settings.workspace_root,
                          docker_host=settings.docker_host)


def _services(settings: Settings, executor: Executor, gpu_reader: GpuReader) -> Services:
    db = Database(settings.db_path)
    projects = ProjectRepository(db)
    runs = RunRepository(db, on_project_change=projects.changed)
    hub, changes, gpu_channel = RunHub(settings.sse_queue), RingChannel(), RingChannel(size=60)
    recorder = RunRecorder(runs, hub, changes)
    supervisor = Supervisor(runs=runs, recorder=recorder, executor=executor,
                            poll_interval=settings.poll_interval,
                            follow_retries=settings.follow_retries,
                            max_line=settings.max_line_bytes)
    sampler = GpuSampler(reader=gpu_reader, interval=settings.gpu_interval, runs=runs,
                         recorder=recorder, channel=gpu_channel,
                         live_roots=supervisor.live_roots)
    queue = GpuQueue(runs=runs, supervisor=supervisor, changes=changes,
                     snapshot=lambda: sampler.snapshot, busy_mib=settings.gpu_busy_mib,
                     backfill_seconds=settings.backfill_seconds,
                     interval=max(settings.gpu_interval, 0.2))
    supervisor.on_ended = queue.poke
    webhooks = WebhookSender(WebhookRepository(db), backoff=settings.webhook_backoff)
    recorder.on_outbox = webhooks.poke
    return Services(
        settings=settings, db=db, auth=TokenAuth(db, settings.token), projects=projects,
        runs=runs, executor=executor, supervisor=supervisor,
        run_service=RunService(settings=settings, projects=projects, runs=runs,
                               executor=executor, supervisor=supervisor, recorder=recorder,
                               queue=queue),
        hub=hub, changes=changes, gpu_channel=gpu_channel, recorder=recorder, sampler=sampler,
        queue=queue,
        run_listing=RunListing(db), tidying=Tidying(db),
        stopping=Stopping(),
        audit=AuditLog(AuditRepository(db), keep_days=settings.audit_days),
        webhooks=webhooks,
        stalls=StallWatch(db=db, recorder=recorder, default_seconds=settings.stall_seconds),
    )


async def _check_bodies(request: Request[Any, Any, Any]) -> None:
    """Litestar keeps one ``before_request``: a JSON body must say it is JSON and be
    shallow (415/400), then every field is checked at once (400 listing them). A route
    that takes no body (``data``) has nothing to check."""
    if request.scope["route_handler"].parsed_data_field is None:
        return
    await check_json_body(request)
    await check_body(request)


def create_app(settings: Settings, *, executor: Executor | None = None,
               gpu_reader: GpuReader | None = None) -> Litestar:
    """The app; tests and tools may inject an executor or a GPU reader."""
    services = _services(settings, executor or make_executor(settings),
                         gpu_reader or make_reader(settings.gpu_source))

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        services.stopping.bind()
        await services.db.open()
        token = await services.auth.ensure_token()
        if token:
            print(f"trainyard: generated the API token of user 'admin' (shown once; rotate with "
                  f"'trainyard token'):\n  {token}", file=sys.stderr, flush=True)
        await services.audit.start()
        await services.webhooks.start()
        await services.supervisor.start()
        await services.sampler.start()
        await services.queue.start()
        for line in await unreachable(settings, services.executor,
                                      services.sampler.off_reason):
            print(f"trainyard: warning: {line}", file=sys.stderr, flush=True)
        await services.stalls.start()
        keepalives = asyncio.create_task(keepalive(KEEPALIVE_SECONDS), name="sse-keepalive")
        # Long-lived objects from start-up need no more scanning by the collector; with
        # fan-out to many stream clients its young-generation passes were ~17% of the time.
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        try:
            yield
        finally:
            keepalives.cancel()
            await services.stalls.close()
            await services.queue.close()
            await services.sampler.close()
            await services.supervisor.close()
            await services.executor.close()
            await services.audit.close()
            await services.webhooks.close()
            await services.db.close()

    api = Router(path="/", route_handlers=[ProjectController, RunController, StreamController,
                                           GpuController, QueueController, RunByIdController,
                                           CompareController, UserController, AuditController,
                                           WebhookController],
                 security=[{"BearerToken": []}])
    app = Litestar(
        route_handlers=[HealthController, PrometheusController, api],
        dependencies={"services": Provide(lambda: services, use_cache=True, sync_to_thread=False)},
        exception_handlers={Exception: to_response},
        before_request=_check_bodies,
        middleware=[TokenMiddleware(services.auth, services.audit)],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Trainyard", version="0.1.0",
            description="Self-hosted control plane for LLM fine-tuning runs.",
            path=DOCS_PATH,
            render_plugins=[PinnedSwagger(), PinnedRedoc(path="/redoc")],
            components=Components(security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer",
                                              description="A user's token; the list names the role "
                                                          "the route needs"),
            }),
        ),
        request_max_body_size=1 << 20,
        debug=False,
    )
    app.state.services = services
    return app
