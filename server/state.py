"""What the app holds for its lifetime, built by :func:`server.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass

from .auth import TokenAuth
from .config import Settings
from .executors.base import Executor
from .services.audit import AuditLog
from .services.gpu_queue import GpuQueue
from .services.gpu_sampler import GpuSampler
from .services.recorder import RunRecorder
from .services.runs import RunService
from .services.stalls import StallWatch
from .services.streaming.events import RingChannel
from .services.streaming.fanout import RunHub
from .services.supervisor import Supervisor
from .services.webhooks import WebhookSender
from .stopping import Stopping
from .storage.db import Database
from .storage.projects import ProjectRepository
from .storage.run_listing import RunListing
from .storage.runs import RunRepository
from .storage.tidying import Tidying

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    db: Database
    auth: TokenAuth
    projects: ProjectRepository
    runs: RunRepository
    executor: Executor
    supervisor: Supervisor
    run_service: RunService
    hub: RunHub
    changes: RingChannel  # project and run changes, for list views
    gpu_channel: RingChannel
    recorder: RunRecorder
    sampler: GpuSampler
    queue: GpuQueue
    run_listing: RunListing
    tidying: Tidying
    stopping: Stopping  # set on SIGTERM/SIGINT: event streams say goodbye and end
    audit: AuditLog
    webhooks: WebhookSender
    stalls: StallWatch
