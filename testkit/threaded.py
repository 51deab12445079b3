"""A fake server that can also run on a thread of its own, for tests that start processes.

The fakes (Radar, RIS Live) are aiohttp servers with `start()` and `aclose()` on the test's
loop; a daemon under test is another process, so they may instead serve from a daemon thread
with its own loop (`start_in_thread()`/`stop()`, or `with Fake() as fake`).
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Self


class ThreadedServer:
    """`start_in_thread`, `stop` and the context manager, for a server with `start`/`aclose`."""

    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Listen on the running loop."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Stop listening."""
        raise NotImplementedError

    def start_in_thread(self) -> None:
        """Serve from a daemon thread with its own event loop (for subprocess tests)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                loop.close()
                return
            self._loop = loop
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        name = type(self).__name__.lower()
        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]

    def stop(self) -> None:
        """Stop the server started by `start_in_thread` and wait for its thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = self._thread = None

    def __enter__(self) -> Self:
        self.start_in_thread()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
