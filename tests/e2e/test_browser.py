"""The status page as a real browser renders it: headless Chromium against the real daemon.

The daemon runs as a subprocess against the fake Radar with a clean IPv4 prefix, a hijacked
one (AS666, RPKI invalid, with a hostile AS name) and an IPv6 prefix. Chromium's `--dump-dom`
gives the DOM after parsing and any script (there must be none), and `--screenshot` a picture
that must show colour. The test never writes into the tree: `scripts/screenshot` retakes
`docs/status-page.png` from the demo.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from monitor.core.measures import percent
from testkit.answers import OriginSpec, encode, make_answer
from testkit.config import (
    FAST_POLLING,
    LOW_VISIBILITY,
    RPKI_INVALID,
    UNEXPECTED_ORIGIN,
    daemon_yaml,
    write_config,
)
from testkit.daemon import DaemonProcess, alerts
from testkit.fakeradar import FakeRadar
from testkit.receivers import free_port
from testkit.waiting import wait_for
from tests.incidents import CLEAN, CLEAN_ORIGINS, HIJACK, V6, VICTIM
from tests.tools import require_tool

EXPECTED = {CLEAN: 64500, VICTIM: 64501, V6: 64502}
#: Would change the title if it ever ran (the page's CSP forbids scripts too).
HOSTILE = "<script>alert(1)</script><script>document.title='pwned'</script>"
HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
RULES = {"rpki-invalid", "unexpected-origin", "low-visibility"}
WIDTH, HEIGHT = 1280, 900
#: What this machine's notes require; the background flags stop calls to Google hosts.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
CHROMIUM_TIMEOUT = 15.0


def answers() -> dict[str, dict[str, Any]]:
    """The Radar answers served, the hijacker's AS name replaced by markup."""
    hijacked = make_answer(VICTIM, HIJACK, n_routes=300)
    for info in hijacked["result"]["meta"]["asn_info"]:
        if info["asn"] == 666:
            info["as_name"] = f"EVIL-NET {HOSTILE}"
    return {
        CLEAN: make_answer(CLEAN, CLEAN_ORIGINS, n_routes=300),
        VICTIM: hijacked,
        V6: make_answer(V6, [OriginSpec(64502, ratio=0.96)], n_routes=200),
    }


def browser_config(tmp: Path, fake: FakeRadar, port: int) -> Path:
    """The daemon's config: the three prefixes with a description each, three rules."""
    prefixes = [
        f'{{prefix: "{CLEAN}", origins: [64500], description: clean block}}',
        f'{{prefix: "{VICTIM}", origins: [64501], description: customer block}}',
        f'{{prefix: "{V6}", origins: [64502], description: v6 block}}',
    ]
    rules = [RPKI_INVALID, UNEXPECTED_ORIGIN, LOW_VISIBILITY]
    text = daemon_yaml(
        fake.base_url, prefixes, rules, source=FAST_POLLING, port=port, state=tmp / "state.db"
    )
    return write_config(tmp, text)


# --- Chromium -------------------------------------------------------------------------------


def chromium(binary: str, tmp: Path, name: str, *args: str) -> str:
    """Run headless Chromium with a new empty profile; its stdout. Killed if it overruns."""
    profile = tmp / f"profile-{name}"
    profile.mkdir()
    proc = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: renderers and zygotes go with it
    )
    try:
        out, err = proc.communicate(timeout=CHROMIUM_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        # A JavaScript dialog, such as an injected alert(), blocks --dump-dom: this is the symptom.
        raise AssertionError(
            f"chromium {name} took over {CHROMIUM_TIMEOUT:g}s (did a script open a dialog?)"
        ) from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # any helper left behind
    assert proc.returncode == 0, (
        f"chromium {name} exited {proc.returncode}:\n{err.decode()[-3000:]}"
    )
    return out.decode()


class Dom(HTMLParser):
    """What the serialized DOM holds: element counts, the title, and each h2's table of cells."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: dict[str, int] = {}
        self.event_handlers: list[str] = []
        self.title = ""
        self.tables: dict[str, list[list[Cell]]] = {}
        self._heading: str | None = None
        self._in: str | None = None
        self._cell: Cell | None = None
        self._item: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements[tag] = self.elements.get(tag, 0) + 1
        self.event_handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag in ("title", "h2"):
            self._in = tag
            if tag == "h2":
                self._heading = ""
        elif tag == "table" and self._heading is not None:
            self.tables[self._heading] = []
        elif tag == "tr" and self._heading in self.tables:
            self.tables[self._heading].append([])
        elif tag in ("td", "th") and self._heading in self.tables:
            self._cell = Cell()
            self.tables[self._heading][-1].append(self._cell)
        elif tag == "li" and self._cell is not None:
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "h2"):
            self._in = None
        elif tag in ("td", "th"):
            self._cell = None
        elif tag == "li" and self._cell is not None and self._item is not None:
            self._cell.items.append(" ".join("".join(self._item).split()))
            self._item = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "h2":
            self._heading = (self._heading or "") + data
        if self._cell is not None:
            self._cell.parts.append(data)
        if self._item is not None:
            self._item.append(data)

    def rows(self, heading: str) -> list[dict[str, Cell]]:
        """The rows under `heading` as {column header: cell}."""
        assert heading in self.tables, f"no table under {heading!r}: {list(self.tables)}"
        header, *body = self.tables[heading]
        return [dict(zip([h.text for h in header], row, strict=True)) for row in body]


class Cell:
    """One table cell's text (whitespace collapsed) and its list items."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.items: list[str] = []

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


# --- PNG, without Pillow ----------------------------------------------------------------------


def png_image(data: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, unfiltered rows, bytes per pixel) of an 8-bit RGB(A) PNG, CRCs checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    chunks: list[tuple[bytes, bytes]] = []
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, interlace) == (8, 0) and colour in (2, 6), (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * bpp
    assert len(raw) == height * (stride + 1), "pixel data does not match the IHDR size"
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        row = unfilter(raw[start], raw[start + 1 : start + 1 + stride], previous, bpp)
        rows.append(row)
        previous = row
    return width, height, rows, bpp


def unfilter(kind: int, line: bytes, up: bytes, bpp: int) -> bytes:
    """Undo one scanline's PNG filter (RFC 2083 section 6)."""
    if kind == 0:
        return line
    if kind == 2:
        return bytes((a + b) & 0xFF for a, b in zip(line, up, strict=True))
    out = bytearray(line)
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        if kind == 1:
            out[i] = (out[i] + left) & 0xFF
        elif kind == 3:
            out[i] = (out[i] + (left + up[i]) // 2) & 0xFF
        elif kind == 4:
            corner = up[i - bpp] if i >= bpp else 0
            p = left + up[i] - corner
            pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - corner)
            near = left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner
            out[i] = (out[i] + near) & 0xFF
        else:
            raise AssertionError(f"unknown PNG filter {kind}")
    return bytes(out)


def colours(rows: list[bytes], bpp: int) -> set[tuple[int, int, int]]:
    """The distinct RGB colours (alpha ignored)."""
    found: set[tuple[int, int, int]] = set()
    for row in rows:
        found.update(zip(row[0::bpp], row[1::bpp], row[2::bpp], strict=True))
    return found


# --- the test -------------------------------------------------------------------------------


def test_status_page_in_headless_chromium(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess]
) -> None:
    binary = require_tool("chromium")
    served = answers()
    for prefix, answer in served.items():
        fake.set_prefix(prefix, body=encode(answer))
    port = free_port()
    daemon = DaemonProcess(tmp_path, browser_config(tmp_path, fake, port)).start()
    daemons.append(daemon)
    daemon.wait_ready(within=20)
    wanted = {(rule, VICTIM, "firing") for rule in RULES}
    wait_for(
        lambda: {(a["key"][0], a["key"][1], a["state"]) for a in alerts(port)} == wanted,
        within=10,
        what="exactly the three alerts on the hijacked prefix to fire",
    )
    url = f"http://127.0.0.1:{port}/"

    text = chromium(binary, tmp_path, "dom", "--dump-dom", url)
    dom = Dom(text)
    # The hostile name is text, nothing of it became an element or ran.
    assert HOSTILE_ESCAPED in text
    assert dom.elements.get("script", 0) == 0 and dom.event_handlers == []
    assert dom.title == f"radar-monitor on {socket.gethostname()}" and "pwned" not in dom.title
    assert dom.elements["h1"] == 1 and dom.elements["table"] == 2

    shown_alerts = {(r["rule"].text, r["prefix"].text, r["state"].text) for r in dom.rows("Alerts")}
    assert shown_alerts == wanted
    messages = " ".join(r["message"].text for r in dom.rows("Alerts"))
    assert f"EVIL-NET {HOSTILE}" in messages

    # Each prefix cell ends with its three lookup links.
    links = "Radar · bgp.tools · RIPEstat"
    assert all(r["prefix"].text.endswith(links) for r in dom.rows("Prefixes"))
    rows = {r["prefix"].text.removesuffix(links): r for r in dom.rows("Prefixes")}
    assert set(rows) == set(served)
    for prefix, answer in served.items():
        row = rows[prefix]
        assert row["data"].text == "ok", (prefix, row["data"].text)
        origins = answer["result"]["meta"]["prefix_origins"]
        expected = next(o for o in origins if o["origin"] == EXPECTED[prefix])
        assert row["expected visibility"].text == percent(expected["visibility"])
        items = row["origins"].items
        assert len(items) == len(origins), items
        for o in origins:
            [item] = [i for i in items if i.startswith(f"AS{o['origin']} ")]
            assert f"RPKI {o['rpki_validation']}" in item, item
            assert percent(o["visibility"]) in item, item
            assert f"({o['total_visible']}/{o['total_peers']})" in item, item
            assert ("unexpected" in item) == (o["origin"] != EXPECTED[prefix]), item
    [hijacker] = [i for i in rows[VICTIM]["origins"].items if i.startswith("AS666 ")]
    assert f"EVIL-NET {HOSTILE}" in hijacker

    shot = tmp_path / "status-page.png"
    chromium(
        binary, tmp_path, "shot", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", url
    )
    data = shot.read_bytes()
    width, height, pixels, bpp = png_image(data)
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(data) > 20_000, f"only {len(data)} bytes: a blank page?"
    palette = colours(pixels, bpp)
    assert len(palette) >= 16, f"only {len(palette)} colours"
    # The red and green status marks: colour, not just anti-aliased grey text.
    assert any(max(c) - min(c) > 100 for c in palette), "no saturated colour on the page"

    assert daemon.stop() == 0
