"""Logging to stderr, one event per line, human or JSON, and the one secret redactor.

Every secret the program learns (the API token, each notification URL and the pieces of it
that may be credentials) is registered here once. Our own log lines are masked with it;
third-party libraries that see channel URLs (Apprise and its HTTP stack) are filtered with
it, and lose every URL too, since their messages may quote one in any form.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from monitor.ops.terminal import printable

MASK = "********"
#: Shorter fragments would mask ordinary words; a credential is longer than this.
MIN_SECRET = 6
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*)://\S+", re.IGNORECASE)
#: Parts of many notification URLs that are not secret; masking them would only garble logs.
_COMMON_PARTS = frozenset({"127.0.0.1", "localhost", "services", "webhooks", "api"})
#: Loggers (and their children) that see channel URLs: Apprise and its HTTP stack.
THIRD_PARTY = ("apprise", "urllib3", "requests")
#: urllib3's loggers that name request paths; created here so they carry the filter even
#: before urllib3 is imported (Apprise imports it with the first HTTP plugin).
_URLLIB3_LOGGERS = tuple(
    f"urllib3.{m}"
    for m in ("connectionpool", "connection", "poolmanager", "response", "util.retry")
)
# Apprise logs a URL it cannot parse at ERROR, verbatim when it has no scheme (its masking
# needs one): while a channel URL is parsed, third-party loggers say nothing.
_QUIET = contextvars.ContextVar("radar_monitor_quiet_third_party", default=False)


class Redactor(logging.Filter):
    """Masks registered secrets; as a logging filter, also cuts URLs and drops quiet records."""

    def __init__(self) -> None:
        super().__init__()
        # Replaced whole, never mutated: Apprise's worker threads read it while a reload
        # adds secrets. Longest first, so a URL is masked before its parts are.
        self._secrets: tuple[str, ...] = ()

    def add(self, secrets: Iterable[str]) -> None:
        """Mask `secrets` (those long enough to be credentials) from now on."""
        fresh = {s for s in secrets if len(s) >= MIN_SECRET}
        self._secrets = tuple(sorted({*self._secrets, *fresh}, key=len, reverse=True))

    def mask(self, text: str) -> str:
        """`text` with every registered secret replaced by the mask."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def scrub(self, text: str) -> str:
        """`text` masked, and every URL in it cut to its scheme (for third-party text)."""
        return _URL.sub(rf"\1://{MASK}", self.mask(text))

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop records logged while a channel URL is parsed; scrub all others."""
        if _QUIET.get():
            return False
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record must not break a send
            message = str(record.msg)
        record.msg = self.scrub(message)
        record.args = None
        if record.exc_info:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


REDACTOR = Redactor()


def register_secret(value: str) -> None:
    """Mask `value` in every log line from now on (a token, a password)."""
    REDACTOR.add([value])


def register_url(url: str) -> None:
    """Mask a notification URL and every piece of it that may be a credential.

    Apprise plugins put tokens anywhere (user, password, host, path, query), so every piece
    but the scheme and a few common words counts. Third-party loggers that see such URLs are
    held at WARNING and filtered, even if an operator turns their level down again.
    """
    url = url.strip()
    pieces: list[str | None] = [url]
    try:
        split = urlsplit(url)
        pieces += [split.username, split.password, split.hostname, split.netloc]
        pieces += split.path.split("/")
        pieces += [value for _, value in parse_qsl(split.query)]
    except ValueError:
        pass  # not a URL at all: the whole text is the secret
    parts = {p for piece in pieces if piece for p in (piece, unquote(piece))}
    REDACTOR.add(p for p in parts if p not in _COMMON_PARTS)
    _guard_third_party()


def mask(text: str) -> str:
    """`text` with every registered secret replaced by the mask."""
    return REDACTOR.mask(text)


def scrub(text: str) -> str:
    """Third-party text (an Apprise error) without secrets or URLs, safe to log and show."""
    return REDACTOR.scrub(text)


@contextlib.contextmanager
def quiet_third_party() -> Iterator[None]:
    """Third-party loggers say nothing inside this block (while a channel URL is parsed)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def _guard_third_party() -> None:
    for name in THIRD_PARTY:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)  # children inherit it
    # Filters are not inherited: attach to every logger of these libraries.
    for name in _URLLIB3_LOGGERS:
        logging.getLogger(name)
    for name, existing in list(logging.root.manager.loggerDict.items()):
        if (
            isinstance(existing, logging.Logger)
            and name.split(".")[0] in THIRD_PARTY
            and REDACTOR not in existing.filters
        ):
            existing.addFilter(REDACTOR)


class _HumanFormatter(logging.Formatter):
    """`2026-11-28T12:00:00Z WARNING monitor.daemon: message`, continuation lines indented."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        text = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return printable(mask(text)).replace("\n", "\n    ")


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
        return printable(mask(json.dumps(doc, ensure_ascii=False)))


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
