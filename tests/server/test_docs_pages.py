"""The API docs pages: viewers pinned with integrity hashes, nothing else fetched from
elsewhere, and a page that says where the OpenAPI document is when the viewer cannot
load (a server without internet)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from ..conftest import Server, module_server


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from module_server(tmp_path_factory, "docs")


@pytest.mark.parametrize(("path", "viewer"), [("/schema/swagger", "SwaggerUIBundle"),
                                              ("/schema", "SwaggerUIBundle"),
                                              ("/schema/redoc", "Redoc")])
def test_docs_pages_pin_their_viewer_and_link_the_served_document(docs_server: Server,
                                                                  path: str,
                                                                  viewer: str) -> None:
    page = httpx.get(docs_server.url + path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    external = re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)"[^>]*>', html)
    assert external, "the viewer itself"
    for tag in re.findall(r'<(?:script|link)[^>]*(?:src|href)="https?://[^>]*>', html):
        assert 'integrity="sha384-' in tag and 'crossorigin="anonymous"' in tag, tag
    assert all("@latest" not in url and "/latest/" not in url for url in external)
    assert "fonts.googleapis" not in html and "branding@main" not in html
    # Offline: the viewer's global is missing, and the page says where the document is.
    assert f"if (typeof {viewer} === 'undefined')" in html and "<noscript>" in html
    [json_url] = set(re.findall(r'<a href="(/[^"]+)">', html))
    document = httpx.get(docs_server.url + json_url)
    assert document.status_code == 200 and document.json()["info"]["title"] == "Trainyard"
