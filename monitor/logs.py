"""Logging to stderr, one event per line, human or JSON, with registered secrets masked."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_SECRETS: set[str] = set()
MASK = "********"


def register_secret(value: str) -> None:
    """Mask `value` in every log line from now on (tokens, notification URLs and their parts)."""
    if len(value) >= 6:
        _SECRETS.add(value)


def mask(text: str) -> str:
    """`text` with every registered secret replaced by the mask."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class _HumanFormatter(logging.Formatter):
    """`2026-11-28T12:00:00Z WARNING monitor.daemon: message`, continuation lines indented."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        text = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return mask(text).replace("\n", "\n    ")


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg (and exc)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return mask(json.dumps(doc, ensure_ascii=False))


def setup_logging(level: str = "info", fmt: str = "human") -> None:
    """Send every log record to stderr in `fmt` ("human" or "json") at `level` and above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _HumanFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp logs a line per scrape at INFO, asyncio internals at DEBUG: noise for operators.
    for noisy in ("aiohttp.access", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
