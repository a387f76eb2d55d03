"""Logging set-up shared by the server and the worker commands.

Every handler (ours, uvicorn's error and access loggers) gets `EscapeControlCharacters`: logged
values come from requests (a path with `%0a`, a patient name), and a control character in them
must not start a fake log line, move the cursor or recolour a terminal.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from autoscribe.config import get_settings
from autoscribe.observability import requestid

# C0 controls, DEL, C1 controls and the Unicode line/paragraph separators.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` on one line: control characters written as \\n, \\r, \\t, \\x1b, \\u2028..."""
    return _CONTROLS.sub(_escape_one, text)


def _indent_lines(text: str) -> str:
    """A multi-line block (traceback, stack) whose every line after the first is indented, so
    that nothing in it reads as a log line of its own; other control characters escaped."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(
        escape_controls(line) if i == 0 or line[:1] in (" ", "\t") else "    " + escape_controls(line)
        for i, line in enumerate(lines)
    )


class EscapeControlCharacters(logging.Filter):
    """A handler filter: the record's message holds no control character once formatted.

    The message is rewritten once per record (a record that reaches several handlers is marked);
    tuple arguments are escaped in place where that suffices, so formatters that read
    `record.args` themselves (uvicorn's access log) keep working. Tracebacks keep their lines,
    each indented."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_autoscribe_escaped", False):
            return True
        record._autoscribe_escaped = True  # type: ignore[attr-defined]
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it as usual
            return True
        if _CONTROLS.search(message):
            args = record.args
            if isinstance(args, tuple) and args:
                record.args = tuple(escape_controls(a) if isinstance(a, str) else a for a in args)
            if isinstance(record.msg, str):
                record.msg = escape_controls(record.msg)
            try:
                still = _CONTROLS.search(record.getMessage()) is not None
            except Exception:
                still = True
            if still:
                record.msg, record.args = escape_controls(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _indent_lines(record.exc_text)
        if record.stack_info:
            record.stack_info = _indent_lines(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """AUTOSCRIBE_LOG_FORMAT=json: one JSON object per line, with the request id when the line was
    written on behalf of a request (or a task or delivery it caused). Non-ASCII characters are
    written as \\u escapes, so U+2028 and friends cannot break a line either; the message itself
    was already escaped by EscapeControlCharacters."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or requestid.get()
        if rid:
            entry["requestId"] = rid
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=True, default=str)


def json_logs() -> bool:
    return get_settings().log_format == "json"


def install_escaping(handler: logging.Handler) -> None:
    if not any(isinstance(f, EscapeControlCharacters) for f in handler.filters):
        handler.addFilter(EscapeControlCharacters())


def install_escaping_everywhere() -> None:
    """The filter on every handler configured so far: the root's and every named logger's."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [obj for obj in logging.root.manager.loggerDict.values() if isinstance(obj, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            install_escaping(handler)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the filter on each of its handlers (it applies
    it in the server process and in every worker process before the app exists)."""

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["escape_controls"] = {"()": "autoscribe.logs.EscapeControlCharacters"}
    if json_logs():
        for name in config.get("formatters", {}):
            config["formatters"][name] = {"()": "autoscribe.logs.JsonFormatter"}
    for handler in config.get("handlers", {}).values():
        handler["filters"] = [*handler.get("filters", []), "escape_controls"]
    return config


def configure_logging() -> None:
    level = get_settings().log_level.upper()
    if json_logs():
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level, handlers=[handler])
    else:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # httpx logs every request's full URL at INFO: presigned links and integrators' query
    # strings are secrets, so only its warnings are kept.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # WeasyPrint and fontTools narrate every step of every PDF at INFO.
    for chatty in ("weasyprint", "fontTools"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    install_escaping_everywhere()
