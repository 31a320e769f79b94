"""Structured logs: the formats (JSON in production, text in development) and the request id.

The lines themselves, one per request and one per background task, are
written by `bondplatform.requestlog`. Every request gets a request id (the client's `X-Request-ID` if it is a sane
token, else a new one), returned in the `X-Request-ID` response header and
put on every log line written while the request runs, so one request's lines
can be found together. The request's own line says who (the user's id, never
a name), what (method and the URL pattern, not the path: a path may carry
what a person typed), the status, how long it took and the outcome code (the
error body's `code`, or `ok`). No personal data beyond ids.

Levels: 5xx at ERROR; refusals (4xx, a business rule or bad input) at INFO
with their code, since refusing is normal business; Django's own
"Unprocessable Entity" WARNING lines are silenced in settings. A background
task's line comes from django-q2's `post_execute` signal; routine scheduled
work that succeeded logs at DEBUG in development, so `make run` stays calm.

`LOG_FORMAT=json` (the default with DEBUG off) or `text` (the default with it on).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
from typing import Any

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# The fields a line may carry beside its message, in the order JSON shows them.
FIELDS = (
    "event",
    "request_id",
    "user_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "outcome",
    "task_id",
    "task",
    "func",
    "group",
)


def current_request_id() -> str | None:
    return _request_id.get()


def request_id_set(value: str) -> contextvars.Token:
    return _request_id.set(value)


def request_id_reset(token: contextvars.Token) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the running request's id on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, the known fields, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """For people at a terminal: time, level, logger, message (the request id when there is one)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")


# django-q2's routine chatter, said at INFO for every scheduled task every minute.
# Also each of its processes saying it started or stopped; the cluster's own start and stop stay.
_ROUTINE = re.compile(
    r"created task .* from schedule|^Processed '|\bprocessing \S+ '|^Enqueued \["
    r"|ready for work at|monitoring at|pushing tasks at|guarding cluster|stopped doing work"
    r"|stopped pushing tasks|stopped monitoring results|stopping cluster processes|waiting for the monitor"
)


class RoutineWorkerMessages(logging.Filter):
    """On the `django-q` logger: its routine per-task lines become DEBUG (shown with LOG_LEVEL=DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and _ROUTINE.search(record.getMessage()):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).getEffectiveLevel() <= logging.DEBUG
        return True
