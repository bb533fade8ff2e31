"""``/webhooks`` (admin): notify chat rooms and services of what runs do."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from common.team import Delivery, Webhook, WebhookCreate

from ..services import webhook_admin as service
from ..state import Services
from .openapi import responses
from .roles import role

Svc = NamedDependency[Services]
HookId = Annotated[str, PathParameter(max_length=100)]


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @post(operation_id="createWebhook", **role("admin"), responses=responses(400, 401, 404))
    async def create(self, services: Svc, data: JSONBody[WebhookCreate],
                     request: Request[Any, Any, Any]) -> Webhook:
        """A webhook: which events, optionally of which project, in which format."""
        return await service.create(projects=services.projects, repo=services.webhooks.repo,
                                    data=data, actor=request.user.name)

    @get(operation_id="listWebhooks", **role("admin"), responses=responses(401))
    async def listing(self, services: Svc) -> list[Webhook]:
        """Every webhook (secrets are never shown)."""
        return await services.webhooks.repo.all()

    @delete("/{webhook_id:str}", operation_id="deleteWebhook", **role("admin"),
            responses=responses(401, 404))
    async def remove(self, services: Svc, webhook_id: HookId) -> None:
        """Stop notifying it; its undelivered notifications are dropped."""
        await service.remove(repo=services.webhooks.repo, webhook_id=webhook_id)

    @post("/{webhook_id:str}/test", operation_id="testWebhook", **role("admin"),
          status_code=200, responses=responses(401, 404))
    async def test(self, services: Svc, webhook_id: HookId) -> Delivery:
        """Send a test notification; answers after its first attempt (or 12 s)."""
        return await service.test(sender=services.webhooks, webhook_id=webhook_id)

    @get("/{webhook_id:str}/deliveries", operation_id="listWebhookDeliveries",
         **role("admin"), responses=responses(400, 401, 404))
    async def deliveries(self, services: Svc, webhook_id: HookId,
                         limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100
                         ) -> list[Delivery]:
        """Newest first, each with its attempts: status code, time, error."""
        return await service.deliveries(repo=services.webhooks.repo, webhook_id=webhook_id,
                                        limit=limit)
