"""The `stream:` section: RIS Live on when present, with its timings."""

from __future__ import annotations

from monitor.settings import DEFAULT_STREAM_URL, StreamConfig
from monitor.validate import Section, parse_duration, string


def read_stream(top: Section) -> StreamConfig | None:
    """The stream settings, or None when the file has no `stream:` section."""
    if "stream" not in top.data:
        return None
    s = top.sub("stream")
    url = s.get("url", string, DEFAULT_STREAM_URL)
    if not url.startswith(("wss://", "ws://")):
        s.report("url", "must be a ws:// or wss:// URL")
    defaults = StreamConfig()
    timings = {
        key: s.get(key, parse_duration, getattr(defaults, key))
        for key in ("max_down", "stale_after", "confirm_interval", "forget_after")
    }
    for key, seconds in timings.items():
        if seconds < 1:
            s.report(key, "must be at least 1s")
    s.close()
    return StreamConfig(url=url, **timings)
