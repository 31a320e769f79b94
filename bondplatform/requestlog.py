"""One log line per request and per background task, and their metrics.

See `bondplatform.logs` for what a line holds and `bondplatform.metrics` for
what is counted. `RequestLogMiddleware` is first in MIDDLEWARE, so it times
and names everything the others do; `task_executed` is connected to
django-q2's `post_execute` signal in `BondplatformConfig.ready`.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from django.conf import settings
from django.utils.functional import empty

from bondplatform import metrics
from bondplatform.logs import request_id_reset, request_id_set

request_logger = logging.getLogger("bondplatform.requests")
task_logger = logging.getLogger("bondplatform.tasks")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _user_id(request: Any) -> int | None:
    """The signed-in user's id, without loading a user that nothing in the request needed."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", None)
    if wrapped is empty:  # a lazy user nobody asked for: anonymous as far as this request went
        return None
    if getattr(user, "is_authenticated", False):
        return user.pk
    return None


def _outcome(response: Any) -> str:
    if response.status_code < 400:
        return "ok"
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("code"), str):
        return data["code"]
    if response.get("Content-Type", "").startswith("application/json") and not response.streaming:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            return body["code"]
    return f"http_{response.status_code}"


def _route(request: Any) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return "<unmatched>"  # a 404's path is whatever the client typed: not a label
    return "/" + match.route


class RequestLogMiddleware:
    """First in MIDDLEWARE: times the whole request, names it, logs it, counts it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            duration = time.perf_counter() - started
            response[REQUEST_ID_HEADER] = request_id
            self._log(request, response, duration)
            return response
        finally:
            request_id_reset(token)

    @staticmethod
    def _log(request, response, duration: float) -> None:
        route = _route(request)
        outcome = _outcome(response)
        status = response.status_code
        metrics.request_observed(method=request.method, route=route, status=status, seconds=duration)
        level = logging.ERROR if status >= 500 else logging.INFO
        user_id = _user_id(request)
        request_logger.log(
            level,
            "%s %s %s %s %.0fms%s",
            request.method,
            route,
            status,
            outcome,
            duration * 1000,
            f" user={user_id}" if user_id is not None else "",
            extra={
                "event": "request",
                "user_id": user_id,
                "method": request.method,
                "path": route,
                "status": status,
                "duration_ms": round(duration * 1000, 1),
                "outcome": outcome,
            },
        )


def task_executed(sender: Any = None, task: dict | None = None, **kwargs: Any) -> None:
    """django-q2's `post_execute`: one line per finished task (in the cluster's monitor process)."""
    if not task:
        return
    started, stopped = task.get("started"), task.get("stopped")
    seconds = (stopped - started).total_seconds() if started and stopped else None
    func = task.get("func")
    func_name = func if isinstance(func, str) else getattr(func, "__qualname__", repr(func))
    success = bool(task.get("success"))
    outcome = "ok" if success else "failed"
    metrics.task_observed(func=func_name, outcome=outcome, seconds=seconds)
    routine = success and task.get("group") and settings.DEBUG
    level = logging.ERROR if not success else logging.DEBUG if routine else logging.INFO
    task_logger.log(
        level,
        "task %s %s%s",
        func_name,
        outcome,
        f" {seconds * 1000:.0f}ms" if seconds is not None else "",
        extra={
            "event": "task",
            "task_id": task.get("id"),
            "task": task.get("name"),
            "func": func_name,
            "group": task.get("group"),
            "outcome": outcome,
            "duration_ms": round(seconds * 1000, 1) if seconds is not None else None,
        },
    )
