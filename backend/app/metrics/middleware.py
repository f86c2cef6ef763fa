"""`observe(app, routes)`: the outermost ASGI layer, around Starlette's own error middleware, so that it sees
every answer, the 500s and 503s that layer makes included, and the time until the last byte of the body. For
each HTTP request it

- takes the request id (`X-Request-ID` when sane, else a new one: `app.core.logs.request_id_from`), puts it in
  the log context of everything the request logs, and echoes it in the answer's `X-Request-ID`, errors included;
- counts and times the request for /metrics;
- writes the access line (`jobcost.access`): method, route template, status, duration, principal, request id.

Requests are labelled by the *template* of the route that answered (`/api/v1/jobs/{job_id}`), never the raw path
(which holds job ids, and anything a scanner tries) nor its query string: a request no route matched is
`unmatched`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logs import request_context, request_id_from
from app.metrics.registry import HTTP_LATENCY, HTTP_REQUESTS, HTTP_UNAVAILABLE

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Set by the error handlers in the request's state: the problem code of the answer (app.api.errors).
PROBLEM_CODE_STATE = "problem_code"
REQUEST_ID_HEADER = b"x-request-id"

access_logger = logging.getLogger("jobcost.access")


class RouteTemplates:
    """The full path template of each route object Starlette records as `scope["route"]`. Routers included in
    others stay nested in recent FastAPI, so a route's own `path_format` lacks its prefixes: the map is built
    from FastAPI's route contexts on first use (every route is added by then)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = routes
        self._templates: dict[int, str] | None = None

    def _build(self) -> dict[int, str]:
        templates: dict[int, str] = {}
        try:
            from fastapi.routing import iter_route_contexts
        except ImportError:  # pragma: no cover - older FastAPI flattens included routers: path_format is whole
            return templates
        for context in iter_route_contexts(self.routes):
            path = context.path_format
            if isinstance(path, str):
                templates.setdefault(id(context.original_route), path)
        return templates

    def of(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self._templates is None:
            self._templates = self._build()
        template = self._templates.get(id(route)) or getattr(route, "path_format", None)
        return template if isinstance(template, str) and template else UNMATCHED


def method_label(scope: Scope) -> str:
    method = str(scope.get("method", "")).upper()
    return method if method in METHODS else "other"


def record(scope: Scope, route: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    labels = {"method": method_label(scope), "route": route, "status": str(status)}
    HTTP_REQUESTS.labels(**labels).inc()
    HTTP_LATENCY.labels(**labels).observe(seconds)
    if status == 503:
        state: dict[str, Any] = scope.get("state") or {}
        cause = state.get(PROBLEM_CODE_STATE)
        HTTP_UNAVAILABLE.labels(cause=cause if isinstance(cause, str) and cause else "other").inc()


def _request_id_header(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            return value.decode("latin-1")
    return None


def observe(app: ASGIApp, routes: Sequence[BaseRoute]) -> ASGIApp:
    """`app` wrapped so that every HTTP request is identified, counted, timed and logged (see the module
    docstring)."""
    templates = RouteTemplates(routes)

    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        scope.setdefault("state", {})  # shared with every copy of the scope, so the handlers' notes reach us
        request_id = request_id_from(_request_id_header(scope))
        context: dict[str, Any] = {"request_id": request_id, "method": method_label(scope)}
        token = request_context.set(context)
        status = 500  # if the app fails before answering, the server answers 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != REQUEST_ID_HEADER]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER, request_id.encode("latin-1"))]}
            await send(message)

        try:
            await app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            route = templates.of(scope)
            record(scope, route, status, seconds)
            context.update(route=route, status=status, duration_ms=round(seconds * 1000, 1))
            access_logger.info("%s %s %d %.1f ms", context["method"], route, status, seconds * 1000)
            request_context.reset(token)

    return observed
