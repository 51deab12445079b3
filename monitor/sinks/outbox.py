"""The notification outbox: every message is queued here (and persisted) before it is sent."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from monitor.core.lifecycle import Alert, AlertEvent, EventKind
from monitor.core.measures import parse_utc, to_jsonable


@dataclass(frozen=True)
class Backlog:
    """A channel whose last delivery attempt failed: what waits for it, and why."""

    channel: str
    queued: int
    since: float
    error: str


@dataclass(frozen=True)
class OutboxItem:
    """One event waiting to be delivered to one channel."""

    id: str
    channel: str
    payload: dict[str, Any]
    created: float
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str = ""


def event_payload(event: AlertEvent) -> dict[str, Any]:
    """The JSON an outbox item carries (enough to render the message after a restart)."""
    return {"kind": event.kind.value, "at": to_jsonable(event.at), "alert": event.alert.to_json()}


def payload_event(payload: Mapping[str, Any]) -> AlertEvent:
    """The inverse of `event_payload`; raises on a malformed payload."""
    return AlertEvent(
        kind=EventKind(payload["kind"]),
        alert=Alert.from_json(payload["alert"]),
        at=parse_utc(payload["at"]),
    )


class Outbox:
    """Pending deliveries by id, with the ids changed since the last flush to the database.

    Items are sent only once the database holds them (`persisted`), unless the database is
    unavailable, in which case memory is all there is and sending beats waiting.
    """

    def __init__(self, items: Iterable[OutboxItem] = ()) -> None:
        self.items: dict[str, OutboxItem] = {i.id: i for i in items}
        self.persisted: set[str] = set(self.items)
        self.dirty: set[str] = set()

    def __len__(self) -> int:
        return len(self.items)

    def add(self, channel: str, payload: dict[str, Any], now: float) -> OutboxItem:
        """Queue `payload` for `channel`."""
        item = OutboxItem(uuid.uuid4().hex, channel, payload, created=now, next_attempt=now)
        self.items[item.id] = item
        self.dirty.add(item.id)
        return item

    def due(self, channel: str, now: float, unpersisted_ok: bool) -> list[OutboxItem]:
        """Items of `channel` whose next attempt has come, oldest first."""
        return sorted(
            (
                i
                for i in self.items.values()
                if i.channel == channel
                and i.next_attempt <= now
                and (unpersisted_ok or i.id in self.persisted)
            ),
            key=lambda i: i.created,
        )

    def delivered(self, ids: Iterable[str]) -> None:
        """Forget delivered items."""
        for item_id in ids:
            if self.items.pop(item_id, None) is not None:
                self.dirty.add(item_id)

    def failed(self, ids: Iterable[str], now: float, error: str, max_backoff: float) -> float:
        """Schedule another attempt with exponential backoff and jitter; returns the delay.

        One delay for the whole group, so it is retried as one message, not split by jitter.
        """
        items = [self.items[i] for i in ids if i in self.items]
        if not items:
            return 0.0
        ceiling = min(max_backoff, 5.0 * 2 ** max(i.attempts for i in items))
        delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto
        for item in items:
            self.items[item.id] = replace(
                item, attempts=item.attempts + 1, next_attempt=now + delay, last_error=error
            )
            self.dirty.add(item.id)
        return delay

    def backlogs(self) -> dict[str, Backlog]:
        """Every channel with items that failed at least once (its queue is not draining)."""
        failed: dict[str, list[OutboxItem]] = {}
        for item in self.items.values():
            failed.setdefault(item.channel, []).append(item)
        return {
            name: Backlog(
                name,
                queued=len(items),
                since=min(i.created for i in items),
                error=max(items, key=lambda i: i.next_attempt).last_error,
            )
            for name, items in sorted(failed.items())
            if any(i.attempts for i in items)
        }

    def take_dirty(self) -> tuple[list[OutboxItem], list[str]]:
        """Items changed and ids removed since the last call."""
        changed = [self.items[i] for i in self.dirty if i in self.items]
        removed = [i for i in self.dirty if i not in self.items]
        self.dirty = set()
        return changed, removed

    def restore_dirty(self, ids: Iterable[str]) -> None:
        """Mark ids dirty again after a failed flush."""
        self.dirty.update(ids)
