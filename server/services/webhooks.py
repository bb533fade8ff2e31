"""Sends stored webhook deliveries: at least once, each endpoint on its own.

A dispatcher wakes when a change stored deliveries (:meth:`WebhookSender.poke`), when the
next retry falls due, or every few seconds, and starts a worker per endpoint that has
due deliveries; a worker sends that endpoint's deliveries one at a time and ends when none
is due. A slow or dead endpoint so holds up only its own worker: never a run, a request,
or another endpoint. A delivery is marked only after its attempt, so one in flight when
the server dies is sent again after the restart (receivers de-duplicate on
``X-Trainyard-Delivery``). Retries: network errors, timeouts, 429 and 5xx, with delays
doubling from ``backoff`` up to an hour, for 24 hours; any other 4xx fails it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

import httpx

from ..storage.webhooks import DueDelivery, WebhookRepository
from .webhook_formats import build

__all__ = ["WebhookSender"]

log = logging.getLogger("trainyard.webhooks")
TIMEOUT = 10.0
RETRY_FOR = 24 * 3600.0
MAX_DELAY = 3600.0
IDLE_WAKE = 5.0
BATCH = 50


class WebhookSender:
    def __init__(self, repo: WebhookRepository, *, backoff: float) -> None:
        self.repo = repo
        self.backoff = backoff
        self._wake = asyncio.Event()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._attempted: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    def poke(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        self._task = asyncio.create_task(self._dispatch(), name="webhooks")

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    async def first_attempt(self, delivery_id: str, within: float) -> None:
        """Wait until ``delivery_id`` has been tried once (at most ``within`` seconds)."""
        event = self._attempted.setdefault(delivery_id, asyncio.Event())
        self.poke()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), within)
        self._attempted.pop(delivery_id, None)

    async def _dispatch(self) -> None:
        while True:
            try:
                for due in await self.repo.due(time.time(), BATCH * 4):
                    if due.webhook_id not in self._workers:
                        self._workers[due.webhook_id] = asyncio.create_task(
                            self._work(due.webhook_id), name=f"webhook-{due.webhook_id}")
                next_at = await self.repo.next_due()
            except Exception:
                log.exception("webhook dispatch failed")
                next_at = None
            wait = IDLE_WAKE if next_at is None else min(IDLE_WAKE,
                                                         max(0.01, next_at - time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()

    async def _work(self, webhook_id: str) -> None:
        try:
            while batch := await self.repo.due(time.time(), BATCH, webhook_id):
                for due in batch:
                    await self._attempt(due)
        except Exception:
            log.exception("webhook worker for %s failed", webhook_id)
        finally:
            self._workers.pop(webhook_id, None)
            self._wake.set()  # what came due meanwhile gets a worker

    async def _attempt(self, due: DueDelivery) -> None:
        target = await self.repo.target(due.webhook_id)
        if target is None:  # deleted meanwhile
            await self.repo.attempted(due.id, status_code=None, error="webhook deleted",
                                      duration_ms=0.0, state="failed", next_at=0.0)
            return
        url, fmt, secret = target
        now = time.time()
        outgoing = build(fmt, url, secret, json.loads(due.payload), delivery_id=due.id, now=now)
        status: int | None = None
        error: str | None = None
        hopeless = False
        began = time.perf_counter()
        assert self._http is not None
        try:
            response = await self._http.post(outgoing.url, content=outgoing.body,
                                             headers=outgoing.headers)
            status = response.status_code
            if status >= 300:
                error = response.text[:200] or response.reason_phrase
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        except (httpx.InvalidURL, ValueError) as exc:  # not worth a retry
            error, hopeless = f"{type(exc).__name__}: {exc}"[:300], True
        took = (time.perf_counter() - began) * 1000
        retry = not hopeless and (status is None or status == 429 or status >= 500)
        if status is not None and 200 <= status < 300:
            state, next_at = "delivered", 0.0
        elif retry and time.time() - due.created_s < RETRY_FOR:
            delay = min(MAX_DELAY, self.backoff * 2 ** due.attempts)
            state, next_at = "pending", time.time() + delay
        else:
            state, next_at = "failed", 0.0
        await self.repo.attempted(due.id, status_code=status, error=error, duration_ms=took,
                                  state=state, next_at=next_at)
        if state != "delivered":
            log.info("webhook %s delivery %s: %s (%s)", due.webhook_id, due.id,
                     status or error, state)
        if (event := self._attempted.get(due.id)) is not None:
            event.set()
