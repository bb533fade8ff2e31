"""What a webhook delivery looks like on the wire, per format.

``json``: our payload, signed in headers (``X-Trainyard-Signature: sha256=<hex
HMAC-SHA256(secret, "<timestamp>.<body>")>``). The chat platforms get their own bot
message shapes and signing: Feishu puts ``timestamp`` (s) and ``sign`` (base64 of
HMAC-SHA256 keyed with ``"<timestamp>\\n<secret>"`` over nothing) in the body; DingTalk
adds ``timestamp`` (ms) and ``sign`` (base64 of HMAC-SHA256 keyed with the secret over
``"<timestamp>\\n<secret>"``) to the URL; WeCom and Slack incoming webhooks sign nothing
(the URL is the secret). No library covers these four well; each is a few lines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

import msgspec

__all__ = ["Outgoing", "build", "message", "sign_json"]

_ICON = {"run.completed": "✅", "run.failed": "❌", "run.canceled": "⏹", "run.paused": "⏸",
         "run.started": "▶", "run.queued": "⏳", "run.stalled": "⚠", "webhook.test": "🔔"}


class Outgoing(msgspec.Struct, frozen=True):
    url: str
    headers: dict[str, str]
    body: bytes


def _duration(start: str | None, end: str | None) -> str | None:
    if not start:
        return None
    try:
        began = datetime.fromisoformat(start.replace("Z", "+00:00"))
        ended = datetime.fromisoformat(end.replace("Z", "+00:00")) if end else None
    except ValueError:
        return None
    if ended is None:
        return None
    seconds = int((ended - began).total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m {rest % 60}s"


def message(payload: dict[str, Any]) -> str:
    """The notification in words for a phone screen."""
    event = str(payload.get("event", ""))
    if event == "webhook.test":
        return "🔔 Trainyard test notification: this webhook works."
    run = payload.get("run") or {}
    project = (payload.get("project") or {}).get("name", "?")
    status = "queued for GPUs" if event == "run.queued" else (
        "stalled" if event == "run.stalled" else run.get("status"))
    lines = [f"{_ICON.get(event, '•')} {project}: run {run.get('id')} {status}"]
    facts = []
    if run.get("exit_code") is not None:
        facts.append(f"exit code {run['exit_code']}")
    if run.get("kept_checkpoint"):
        facts.append(f"kept {run['kept_checkpoint']}")
    if run.get("loss") is not None:
        facts.append(f"loss {run['loss']:.4g}")
    if (took := _duration(run.get("started_at"), run.get("completed_at"))) is not None:
        facts.append(f"took {took}")
    if event == "run.stalled" and run.get("stalled_since"):
        facts.append(f"silent since {run['stalled_since']}")
    if facts:
        lines.append(", ".join(facts))
    who = run.get("stop_requested_by") if event in ("run.canceled", "run.paused") else None
    if who:
        lines.append(f"by {who} (launched by {run.get('created_by') or 'unknown'})")
    elif run.get("created_by"):
        lines.append(f"launched by {run['created_by']}")
    if run.get("message") and event == "run.failed":
        lines.append(str(run["message"])[:300])
    return "\n".join(lines)


def sign_json(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def build(fmt: str, url: str, secret: str | None, payload: dict[str, Any], *,
          delivery_id: str, now: float) -> Outgoing:
    headers = {"Content-Type": "application/json", "User-Agent": "trainyard-webhooks"}
    text = message(payload)
    seconds = str(int(now))
    body: dict[str, Any]
    if fmt == "json":
        raw = json.dumps({**payload, "delivery": delivery_id, "message": text}).encode()
        headers.update({"X-Trainyard-Event": str(payload.get("event")),
                        "X-Trainyard-Delivery": delivery_id, "X-Trainyard-Timestamp": seconds})
        if secret:
            headers["X-Trainyard-Signature"] = sign_json(secret, seconds, raw)
        return Outgoing(url, headers, raw)
    if fmt == "slack":
        body = {"text": text}
    elif fmt == "feishu":
        body = {"msg_type": "text", "content": {"text": text}}
        if secret:
            key = f"{seconds}\n{secret}".encode()
            sign = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            body = {"timestamp": seconds, "sign": sign, **body}
    elif fmt == "dingtalk":
        body = {"msgtype": "text", "text": {"content": text}}
        if secret:
            millis = str(int(now * 1000))
            mac = hmac.new(secret.encode(), f"{millis}\n{secret}".encode(), hashlib.sha256)
            sign = quote_plus(base64.b64encode(mac.digest()).decode())
            url += ("&" if "?" in url else "?") + f"timestamp={millis}&sign={sign}"
    else:  # wecom
        body = {"msgtype": "text", "text": {"content": text}}
    return Outgoing(url, headers, json.dumps(body, ensure_ascii=False).encode())
