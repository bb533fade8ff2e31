"""The app factory: wires settings, storage, executor and services into a Litestar app."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from .auth import TokenAuth
from .config import Settings
from .errors import to_response
from .executors.base import Executor
from .executors.docker import DockerExecutor
from .executors.local import LocalExecutor
from .routes.health import HealthController
from .routes.projects import ProjectController
from .routes.runs import RunController
from .services.runs import RunService
from .services.supervisor import Supervisor
from .state import Services
from .storage.db import Database
from .storage.projects import ProjectRepository
from .storage.runs import RunRepository

__all__ = ["create_app", "make_executor"]

log = logging.getLogger("trainyard")


def make_executor(settings: Settings) -> Executor:
    if settings.executor == "local":
        return LocalExecutor(runs_dir=settings.runs_dir, workspace_root=settings.workspace_root)
    return DockerExecutor(workspace_root=settings.workspace_root,
                          docker_host=settings.docker_host)


def _services(settings: Settings, executor: Executor) -> Services:
    db = Database(settings.db_path)
    runs = RunRepository(db)
    projects = ProjectRepository(db)
    supervisor = Supervisor(runs=runs, executor=executor, poll_interval=settings.poll_interval)
    return Services(
        settings=settings, db=db, auth=TokenAuth(db, settings.token), projects=projects,
        runs=runs, executor=executor, supervisor=supervisor,
        run_service=RunService(settings=settings, projects=projects, runs=runs,
                               executor=executor, supervisor=supervisor),
    )


def create_app(settings: Settings, *, executor: Executor | None = None) -> Litestar:
    services = _services(settings, executor or make_executor(settings))

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await services.db.open()
        token = await services.auth.ensure_token()
        if token:
            print(f"trainyard: generated an API token (shown once; rotate with "
                  f"'trainyard token'):\n  {token}", file=sys.stderr, flush=True)
        await services.supervisor.start()
        try:
            yield
        finally:
            await services.supervisor.close()
            await services.executor.close()
            await services.db.close()

    async def require_token(connection: ASGIConnection[Any, Any, Any, Any],
                            handler: BaseRouteHandler) -> None:
        await services.auth.guard(connection, handler)

    api = Router(path="/", route_handlers=[ProjectController, RunController],
                 guards=[require_token], security=[{"BearerToken": []}])
    app = Litestar(
        route_handlers=[HealthController, api],
        dependencies={"services": Provide(lambda: services, use_cache=True, sync_to_thread=False)},
        exception_handlers={Exception: to_response},
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Trainyard", version="0.1.0",
            description="Self-hosted control plane for LLM fine-tuning runs.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), RedocRenderPlugin(path="/redoc")],
            components=Components(security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer",
                                              description="TRAINYARD_TOKEN or the generated one"),
            }),
        ),
        request_max_body_size=1 << 20,
        debug=False,
    )
    app.state.services = services
    return app
