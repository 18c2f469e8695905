"""A small HTTP client for a running panel: cookies and CSRF handled.

Used by the multi-instance tests and the load scripts, where the panel runs
in another process and Django's test client cannot reach it.
"""

from __future__ import annotations

import http.cookiejar
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message

from django.utils.datastructures import CaseInsensitiveMapping


@dataclass(frozen=True)
class Response:
    status: int
    url: str
    #: Looked up case-insensitively, as HTTP names are (uvicorn's httptools
    #: protocol sends Django's names in lower case, its h11 one does not).
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def _headers(message: Message) -> Mapping[str, str]:
    return CaseInsensitiveMapping(dict(message))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class PanelClient:
    """One browser-like session against ``base_url``; redirects are not followed."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def request(
        self,
        method: str,
        path: str,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(  # noqa: S310 (loopback URLs we built)
            self.base_url + path, data=body, method=method, headers=dict(headers or {})
        )
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> Response:
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                return Response(reply.status, reply.url, _headers(reply.headers), reply.read())
        except urllib.error.HTTPError as reply:
            with reply:
                return Response(reply.code, reply.url, _headers(reply.headers), reply.read())

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, data: Mapping[str, str]) -> Response:
        """POST a form with the CSRF token from the cookie (fetching ``path`` first if needed)."""
        token = self.cookie("csrftoken")
        if token is None:
            self.get(path)
            token = self.cookie("csrftoken")
        return self.request("POST", path, {**data, "csrfmiddlewaretoken": token or ""})

    def post_files(
        self, path: str, data: Mapping[str, str], files: Mapping[str, tuple[str, bytes]]
    ) -> Response:
        """POST a multipart form (``files``: field -> (file name, bytes)) as a
        browser's file upload does, with the CSRF token from the cookie."""
        token = self.cookie("csrftoken")
        if token is None:
            self.get(path)
            token = self.cookie("csrftoken") or ""
        boundary = f"----panel-client-{secrets.token_hex(16)}"
        body = bytearray()
        for name, value in {**data, "csrfmiddlewaretoken": token}.items():
            part = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            body += part.encode()
            body += value.encode() + b"\r\n"
        for name, (file_name, content) in files.items():
            body += (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            body += content + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(  # noqa: S310 (loopback URLs we built)
            self.base_url + path,
            data=bytes(body),
            method="POST",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        return self._send(request)

    def sign_in(self, name: str, password: str) -> Response:
        return self.post(
            "/accounts/sign-in/", {"method": "password", "username": name, "password": password}
        )

    def sign_in_with_token(self, token: str) -> Response:
        return self.post("/accounts/sign-in/", {"method": "token", "token": token})
