"""The API docs pages (Swagger UI at ``/schema/swagger``, Redoc at ``/schema/redoc``).

Their viewers load from a CDN, now at pinned versions with subresource-integrity hashes
(Redoc was ``latest``, unhashed), and no fonts or favicon from elsewhere. On a server
without internet the viewer cannot load: the page then says so and links the OpenAPI
document the server itself serves (``/schema/openapi.json``), which any OpenAPI viewer
or client generator reads.

The hashes are those of the npm packages' files, which the CDN serves unchanged
(``npm pack swagger-ui-dist@5.18.2 redoc@2.4.0``, then ``openssl dgst -sha384 -binary
FILE | openssl base64 -A``).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin

__all__ = ["PinnedRedoc", "PinnedSwagger"]

_SWAGGER = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.18.2/"
_REDOC = "https://cdn.jsdelivr.net/npm/redoc@2.4.0/bundles/redoc.standalone.js"
_SRI = {
    _SWAGGER + "swagger-ui-bundle.js":
        "sha384-NXtFPpN61oWCuN4D42K6Zd5Rt2+uxeIT36R7kpXBuY9tLnZorzrJ4ykpqwJfgjpZ",
    _SWAGGER + "swagger-ui-standalone-preset.js":
        "sha384-qr68CD0cvHa88PmVu7e1a58Ego4qvKtcvcLdS2a8Mo5zILI01gyIV9jVwJk7X2NU",
    _SWAGGER + "swagger-ui.css":
        "sha384-rcbEi6xgdPk0iWkAQzT2F3FeBJXdG+ydrawGlfHAFIZG7wU6aKbQaRewysYpmrlW",
    _REDOC: "sha384-4v3wCasB17vfeckkA8KRSPd9Lc58k/TgMXEcNFq0jeMRGcwHUunHDHkTHo+q2XZ3",
}


def _offline_note(viewer: str, global_name: str, json_url: str) -> bytes:
    note = (f"<div style=\"font-family:sans-serif;max-width:42em;margin:3em auto\">"
            f"<h1>The {viewer} viewer did not load</h1><p>This page loads {viewer} from "
            f"cdn.jsdelivr.net, which this browser cannot reach (or it blocked the script). "
            f"The API description is served by Trainyard itself: "
            f"<a href=\"{json_url}\">{json_url}</a>. Open it in any OpenAPI viewer or "
            f"client generator; the README has every endpoint by example.</p></div>")
    return (f"<noscript>{note}</noscript><script>if (typeof {global_name} === 'undefined') "
            f"{{ document.body.innerHTML = '{note}'; }}</script>").encode()


def _pin(page: bytes, note: bytes) -> bytes:
    for url, sri in _SRI.items():
        page = page.replace(f'src="{url}" crossorigin>'.encode(),
                            f'src="{url}" integrity="{sri}" crossorigin="anonymous">'.encode())
        page = page.replace(f'href="{url}" rel="stylesheet">'.encode(),
                            f'href="{url}" rel="stylesheet" integrity="{sri}" '
                            f'crossorigin="anonymous">'.encode())
    head, _, tail = page.rpartition(b"</body>")
    return head + note + b"</body>" + tail


class PinnedSwagger(SwaggerRenderPlugin):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(js_url=_SWAGGER + "swagger-ui-bundle.js",
                         css_url=_SWAGGER + "swagger-ui.css",
                         standalone_preset_js_url=_SWAGGER + "swagger-ui-standalone-preset.js",
                         favicon="", **kwargs)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        note = _offline_note("Swagger UI", "SwaggerUIBundle", self.get_openapi_json_route(request))
        return _pin(super().render(request, openapi_schema), note)


class PinnedRedoc(RedocRenderPlugin):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(js_url=_REDOC, google_fonts=False, favicon="", **kwargs)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        note = _offline_note("Redoc", "Redoc", self.get_openapi_json_route(request))
        return _pin(super().render(request, openapi_schema), note)
