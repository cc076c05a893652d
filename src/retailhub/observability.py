"""Structured logs: one JSON object a line on stderr, carrying the delivery's correlation id.

Why: an event is followed from intake to journal by one id. Intake binds the inbox row's
``correlation_id`` with ``structlog.contextvars.bound_contextvars`` and so does processing; every
line logged while it is bound carries it, whichever module logs (``merge_contextvars`` below).

Logs go to stderr so that ``--json`` CLI output on stdout stays machine-readable. Importing this
module configures a JSON default when nothing configured structlog yet (structlog's own default
prints coloured text to *stdout*); entry points call ``configure_logging`` to choose.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LEVEL_ENV = "RETAILHUB_LOG_LEVEL"  # DEBUG, INFO, WARNING, ERROR; INFO when unset


class LineWriter:
    """A structlog logger that writes each rendered line to a stream, by default ``sys.stderr``
    looked up at write time (so redirecting stderr, as test runners do, is honoured)."""

    _lock = threading.Lock()  # one line at a time across the API's and worker's threads

    def __init__(self, name: str = "", stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream

    def msg(self, message: str) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        with self._lock:
            stream.write(message + "\n")
            stream.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


class LineWriterFactory:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def __call__(self, *args: Any) -> LineWriter:
        # structlog.get_logger("retailhub") passes the name through to the factory.
        return LineWriter(str(args[0]) if args else "", self._stream)


def _logger_name(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    name = getattr(logger, "name", "")
    if name:
        event_dict.setdefault("logger", name)
    return event_dict


def _level_number(level: int | str) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(f"log level {level!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return number


def _orjson_dumps(data: Any, **_: Any) -> str:
    # default=str: datetimes, UUIDs and the like become their text instead of failing the line.
    return orjson.dumps(data, default=str).decode()


def configure_logging(
    json: bool = True, level: int | str | None = None, stream: TextIO | None = None
) -> None:
    """Configure structlog for the process.

    ``json``: one JSON object a line (``timestamp`` in ISO 8601 UTC, ``level``, ``logger``,
    ``event``, any bound context such as ``correlation_id``); otherwise human-readable text.
    ``level``: a name or number; defaults to ``$RETAILHUB_LOG_LEVEL`` or INFO.
    ``stream``: where lines go; defaults to the current ``sys.stderr``.
    """
    number = _level_number(level if level is not None else os.environ.get(LEVEL_ENV, "INFO"))
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    processors.append(
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=LineWriterFactory(stream),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "retailhub") -> Any:
    """The project's logger (``structlog.get_logger`` by another name, for one import site)."""
    return structlog.get_logger(name)


if not structlog.is_configured():  # never print to stdout by default; see the docstring
    try:
        configure_logging()
    except ValueError:  # a mistyped $RETAILHUB_LOG_LEVEL must not stop an import
        configure_logging(level="INFO")
