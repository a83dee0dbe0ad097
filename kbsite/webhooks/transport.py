"""One HTTP POST to a checked webhook target, with urllib.

The connection goes to the address the SSRF guard approved (not to a fresh DNS answer), while
the Host header and TLS (SNI and certificate) use the host name. Redirects are not followed: a
3xx is the receiver's answer, so a redirect cannot lead a delivery to an internal address.
Proxies from the environment are ignored for the same reason.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import partial
from typing import Any

from kbsite.webhooks.targets import Target

RESPONSE_READ_LIMIT = 4096


@dataclass(frozen=True)
class HttpResult:
    status_code: int | None  # None when no answer came (network error, timeout)
    duration_ms: int
    error: str = ""


def _pinned(address: str) -> Any:
    def create_connection(destination: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        return socket.create_connection((address, destination[1]), *args, **kwargs)

    return create_connection


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, address: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._create_connection = _pinned(address)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, *, address: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._create_connection = _pinned(address)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_PinnedHTTPConnection, address=self.address), req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            partial(_PinnedHTTPSConnection, address=self.address),
            req,
            context=self._context,  # type: ignore[attr-defined]
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http_post(
    *, target: Target, body: bytes, headers: dict[str, str], timeout: float
) -> HttpResult:
    """POST `body` to `target`; any answer is a result, only network failures set `error`."""
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _NoRedirects(),
        _PinnedHTTPHandler(target.address),
        _PinnedHTTPSHandler(target.address),
    )
    # target_check allowed only http and https.
    request = urllib.request.Request(target.url, data=body, headers=headers, method="POST")  # noqa: S310
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(RESPONSE_READ_LIMIT)
            return HttpResult(status_code=response.status, duration_ms=elapsed())
    except urllib.error.HTTPError as answer:
        answer.close()
        return HttpResult(status_code=answer.code, duration_ms=elapsed())
    except (urllib.error.URLError, OSError, http.client.HTTPException) as failure:
        reason = getattr(failure, "reason", None) or failure
        kind = type(reason).__name__ if isinstance(reason, BaseException) else "URLError"
        message = getattr(reason, "strerror", None) or str(reason)
        return HttpResult(status_code=None, duration_ms=elapsed(), error=f"{kind}: {message}")
