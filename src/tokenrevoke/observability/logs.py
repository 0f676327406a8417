"""Log set-up: text or one JSON object per line, every record stamped with the request id.

The request id lives in a context variable set for each HTTP request (web/observe.py);
asyncio gives every task a copy of its creator's context, so whatever oauth/ or store/
logs while serving a request carries that request's id. Work handed to other threads (the
SQLite writer, script workers) logs without one.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("tokenrevoke_request_id", default=None)
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Fields the access log passes as `extra`; the JSON form carries them as top-level keys.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "client")


# What could end a line, or rewrite it, on a terminal or in a log viewer: C0 and C1
# controls, DEL, and the Unicode line and paragraph separators (str.splitlines splits on
# them). A request path, a client id or a script's output may carry any of them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` on one line: every control character as a `\\xNN` (or `\\uNNNN`) escape."""
    return _CONTROL.sub(_escaped, text) if _CONTROL.search(text) else text


class TextFormatter(logging.Formatter):
    """One record, one line (then its traceback, if any): control characters in the
    message are escaped, so that input cannot forge a record (a path with a newline and
    a fake time stamp). The lines of a traceback are indented: none of them can pass for
    the start of a record either."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join("    " + escape_controls(line) for line in text.split("\n"))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        seconds = time.gmtime(record.created)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(record.msecs):03d}Z"
        request_id = getattr(record, "request_id", "-")
        out: dict[str, Any] = {
            "time": stamp,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if request_id == "-" else request_id,
        }
        fields = record.__dict__
        for name in ACCESS_FIELDS:
            if name in fields:
                out[name] = fields[name]
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


# Janssen's level names (its loggingLevel property) and ours. Python has no TRACE: it is
# DEBUG here; OFF is above every level.
_FROM_JANSSEN = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "OFF": logging.CRITICAL + 10,
}
_TO_JANSSEN = {"WARNING": "WARN", "CRITICAL": "FATAL"}


def janssen_level(level: str) -> str:
    """Our level name (--log-level) as Janssen names it."""
    upper = level.upper()
    return _TO_JANSSEN.get(upper, upper)


def set_level(janssen_name: str | None, default: str) -> None:
    """Log at Janssen's level `janssen_name` (the loggingLevel property), or at our
    `default` (--log-level) when it is unset."""
    root = logging.getLogger()
    if janssen_name is None:
        root.setLevel(default.upper())
    else:
        root.setLevel(_FROM_JANSSEN[janssen_name])


def configure_logging(level: str, log_format: str) -> None:
    """Replace the root logger's handlers with one on stderr in the chosen format. uvicorn's
    loggers propagate here too (it is started without a logging config of its own)."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    formatter = JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
