"""Webhook use cases behind ``/webhooks``: create, remove, test, list deliveries."""

from __future__ import annotations

from urllib.parse import urlsplit

from common.team import Delivery, Webhook, WebhookCreate

from ..errors import InvalidRequest, NotFound
from ..storage.db import now_iso
from ..storage.projects import ProjectRepository
from ..storage.webhooks import WebhookRepository
from .projects import require_project
from .webhooks import WebhookSender

__all__ = ["create", "deliveries", "remove", "test"]

TEST_WAIT = 12.0


def _missing(webhook_id: str) -> NotFound:
    return NotFound(f"no webhook {webhook_id!r}", code="webhook_not_found",
                    details={"webhook": webhook_id})


async def create(*, projects: ProjectRepository, repo: WebhookRepository,
                 data: WebhookCreate, actor: str) -> Webhook:
    try:
        host = urlsplit(data.url).hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
    if not host:
        raise InvalidRequest(f"`url`: {data.url!r} is not an http(s) URL with a host",
                             code="validation_failed",
                             details={"errors": [{"field": "url", "source": "body",
                                                  "message": "not an http(s) URL with a host"}]})
    project_id = None
    if data.project is not None:
        project_id = (await require_project(projects, data.project)).id
    return await repo.add(url=data.url, events=sorted(set(data.events)), project_id=project_id,
                          fmt=data.format, secret=data.secret, created_by=actor)


async def remove(*, repo: WebhookRepository, webhook_id: str) -> None:
    if not await repo.remove(webhook_id):
        raise _missing(webhook_id)


async def test(*, sender: WebhookSender, webhook_id: str) -> Delivery:
    if await sender.repo.get(webhook_id) is None:
        raise _missing(webhook_id)
    delivery_id = await sender.repo.enqueue(webhook_id, "webhook.test", {
        "event": "webhook.test", "timestamp": now_iso()})
    await sender.first_attempt(delivery_id, TEST_WAIT)
    found = await sender.repo.delivery(delivery_id)
    assert found is not None
    return found


async def deliveries(*, repo: WebhookRepository, webhook_id: str, limit: int) -> list[Delivery]:
    if await repo.get(webhook_id) is None:
        raise _missing(webhook_id)
    return await repo.deliveries(webhook_id, limit)
