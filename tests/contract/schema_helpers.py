"""The served OpenAPI schema, and checking a test client's answer against it with schemathesis's
own response checks, so that a unit test can pin what the contract run found."""

from __future__ import annotations

import http.client
from functools import cache
from typing import Any

import requests
import schemathesis
from django.test import Client
from schemathesis.core.transport import Response

from tests.kbsite.factories import UserFactory


@cache
def served_schema() -> dict[str, Any]:
    """/api/schema/ as a signed-in client gets it (the schema does not depend on who asks)."""
    client = Client()
    client.force_login(UserFactory(username="schema-reader"))
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content
    return response.json()


def operation(path: str, method: str) -> Any:
    return schemathesis.openapi.from_dict(served_schema())[path][method.upper()]


def assert_conforms(response: Any, *, path: str, method: str) -> None:
    """Raise unless `response` (a Django test response) has a status code, content type and
    body that the schema documents for this operation."""
    documented = served_schema()["paths"][path][method.lower()]["responses"]
    status = str(response.status_code)
    assert status in documented, f"{status} is not documented for {method.upper()} {path}"
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    media_types = set(documented[status].get("content", {}))
    assert not media_types or content_type in media_types, (content_type, media_types)
    request = requests.Request(
        method=method.upper(), url=f"http://testserver{response.request['PATH_INFO']}"
    ).prepare()
    answer = Response(
        status_code=response.status_code,
        headers={name: [value] for name, value in response.headers.items()},
        content=response.content,
        request=request,
        elapsed=0.0,
        verify=False,
        message=http.client.responses.get(response.status_code, ""),
    )
    operation(path, method).validate_response(answer)
