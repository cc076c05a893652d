"""JSON log lines: the fields every line carries, bound context, level filtering, stderr."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime

import pytest
import structlog
from structlog.contextvars import bound_contextvars

from retailhub.observability import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    configure_logging()  # the default every other test runs with


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_carries_timestamp_level_logger_event_and_the_bound_correlation_id():
    out = io.StringIO()
    configure_logging(stream=out)
    with bound_contextvars(correlation_id="c0ffee"):
        get_logger("retailhub.intake").info("delivery.received", source="shopify", inbox_id=7)
    get_logger("retailhub.intake").info("after")  # the binding ended with the block

    first, after = lines(out)
    assert first["event"] == "delivery.received"
    assert first["level"] == "info"
    assert first["logger"] == "retailhub.intake"
    assert first["correlation_id"] == "c0ffee"
    assert first["source"] == "shopify" and first["inbox_id"] == 7
    stamp = datetime.fromisoformat(str(first["timestamp"]))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert "correlation_id" not in after


def test_structlog_get_logger_used_elsewhere_gets_the_same_format():
    """Processing logs with plain ``structlog.get_logger("retailhub")``; its lines must match."""
    out = io.StringIO()
    configure_logging(stream=out)
    with bound_contextvars(correlation_id="abc"):
        structlog.get_logger("retailhub").warning("delivery.failed", when=datetime(2026, 1, 2))
    (line,) = lines(out)
    assert line["logger"] == "retailhub" and line["level"] == "warning"
    assert line["correlation_id"] == "abc" and line["when"] == "2026-01-02T00:00:00"


def test_lines_below_the_level_are_dropped():
    out = io.StringIO()
    configure_logging(level="WARNING", stream=out)
    log = get_logger()
    log.debug("d")
    log.info("i")
    log.error("e")
    assert [line["event"] for line in lines(out)] == ["e"]


def test_the_level_comes_from_the_environment_and_a_bad_one_is_named(
    monkeypatch: pytest.MonkeyPatch,
):
    out = io.StringIO()
    monkeypatch.setenv("RETAILHUB_LOG_LEVEL", "error")
    configure_logging(stream=out)
    get_logger().warning("w")
    assert out.getvalue() == ""
    with pytest.raises(ValueError, match="'LOUD' is not one of DEBUG"):
        configure_logging(level="LOUD")


def test_by_default_lines_go_to_stderr_not_stdout(capsys: pytest.CaptureFixture[str]):
    configure_logging()
    get_logger().info("hello")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err)["event"] == "hello"


def test_text_mode_is_one_readable_line():
    out = io.StringIO()
    configure_logging(json=False, stream=out)
    with bound_contextvars(correlation_id="c1"):
        get_logger().info("delivery.received", source="pos")
    text = out.getvalue()
    assert text.count("\n") == 1
    assert "delivery.received" in text and "correlation_id=c1" in text and "source=pos" in text
