"""Notifier: real Apprise sends to local JSON receivers and a local SMTP server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from aiosmtpd.smtp import SMTP

from monitor.core.finding import Severity
from monitor.sinks.notifier import TEST_TITLE
from monitor.sinks.outbox import OutboxItem, event_payload
from testkit.receivers import Mailbox, Receiver
from testkit.waiting import until
from tests.builders import HOSTILE, make_event
from tests.notifying import GROUP_WAIT, Harness, channel

PASSWORD = "s3cr3tpw"


async def test_single_event_arrives_with_full_detail(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    h = make_harness([channel("ops", receiver.url("ops"))])
    h.start()
    assert h.notifier.enqueue([make_event()], time.time()) == 1
    await until(lambda: bool(receiver.posts))
    doc = receiver.posts[0].doc
    assert doc["title"] == "[CRITICAL] FIRING: unexpected-origin 192.0.2.0/24 (AS666)"
    assert doc["type"] == "failure"  # critical: the red colour where a service has one
    for text in (
        "EVIL-NET (RU)",
        "RPKI invalid",
        "95.0%",
        "route-views2",
        "11:59:30 UTC",
        "https://radar.cloudflare.com/routing/prefix/192.0.2.0/24",
    ):
        assert text in doc["message"]
    await until(lambda: not h.outbox.items)
    assert h.results == [("ops", "success")]


async def test_routing_by_severity_and_rule(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    h = make_harness(
        [
            channel("pager", receiver.url("pager"), severities=frozenset({Severity.CRITICAL})),
            channel("vis", receiver.url("vis"), rules=frozenset({"visibility-below"})),
            channel("all", receiver.url("all")),
            channel("am", "http://127.0.0.1:9/", type="alertmanager"),
        ]
    )
    h.start()
    critical = make_event(prefix="192.0.2.0/24")
    warning = make_event(rule="visibility-below", severity=Severity.WARNING, prefix="10.0.0.0/8")
    info = make_event(rule="rpki-invalid", severity=Severity.INFO, prefix="10.1.0.0/16")
    assert h.notifier.enqueue([critical, warning, info], time.time()) == 8
    await until(lambda: len(receiver.posts) == 3)
    assert "192.0.2.0/24" in receiver.at("pager")[0].doc["title"]
    assert "10.0.0.0/8" in receiver.at("vis")[0].doc["title"]
    assert receiver.at("all")[0].doc["title"].startswith("[CRITICAL] FIRING: 192.0.2.0/24")
    assert sum(i.channel == "am" for i in h.outbox.items.values()) == 3  # port 9: retrying


async def test_failed_send_is_retried_with_backoff_and_delivered_once(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    receiver.statuses = {"ops": [500, 500]}
    h = make_harness([channel("ops", receiver.url("ops"))])
    h.start()
    h.notifier.enqueue([make_event()], time.time())
    await until(lambda: not h.outbox.items)
    await asyncio.sleep(0.5)  # longer than the backoff: nothing is sent again
    assert len(receiver.posts) == 3
    assert h.results == [("ops", "failure"), ("ops", "failure"), ("ops", "success")]
    assert receiver.posts[2].at - receiver.posts[1].at >= 0.15  # half the 0.3s max backoff
    assert any("500" in e for e in h.errors)


async def test_hanging_channel_does_not_delay_another(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    receiver.hang = {"slow"}
    h = make_harness(
        [channel("slow", receiver.url("slow")), channel("fast", receiver.url("fast"))],
        send_timeout=1.5,
    )
    h.start()
    # The hanging channel's first message is in flight when the second event comes.
    h.notifier.enqueue([make_event(prefix="192.0.2.0/24")], time.time())
    await until(lambda: len(receiver.posts) == 2)
    enqueued = time.monotonic()
    h.notifier.enqueue([make_event(prefix="198.51.100.0/24")], time.time())
    await until(lambda: len(receiver.at("fast")) == 2)
    # Far less than the slow channel's 1.5s timeout that a shared queue would wait for.
    assert receiver.at("fast")[1].at - enqueued < GROUP_WAIT + 0.4
    await until(lambda: ("slow", "timeout") in h.results)
    assert "slow" in {i.channel for i in h.outbox.items.values()}


async def test_email_arrives_with_subject_and_body(make_harness: Callable[..., Harness]) -> None:
    mailbox = Mailbox()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(mailbox), "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        # mailto:// (not mailtos://) is plain SMTP: no TLS, no login.
        url = f"mailto://127.0.0.1:{port}?from=monitor@example.org&to=noc@example.org"
        h = make_harness([channel("mail", url)])
        h.start()
        h.notifier.enqueue([make_event()], time.time())
        await until(lambda: bool(mailbox.messages))
    finally:
        server.close()
    message = mailbox.messages[0]
    assert message["Subject"] == "[CRITICAL] FIRING: unexpected-origin 192.0.2.0/24 (AS666)"
    assert message["To"] == "noc@example.org"
    body = message.get_content()
    assert "EVIL-NET (RU)" in body
    assert "https://bgp.tools/prefix/192.0.2.0/24" in body


async def test_hostile_as_name_is_neutralised_at_the_receiver(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    h = make_harness([channel("ops", receiver.url("ops"))])
    h.start()
    h.notifier.enqueue([make_event(as_name=HOSTILE)], time.time())
    await until(lambda: bool(receiver.posts))
    text = receiver.posts[0].doc["title"] + receiver.posts[0].doc["message"]
    for bad in ("<!channel>", "[click](", "<script>", "@here", "<@U123>", "<http://evil|"):
        assert bad not in text


async def test_password_in_url_never_reaches_the_logs(
    receiver: Receiver, make_harness: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    creds = f"user:{PASSWORD}"
    h = make_harness(
        [
            channel("failing", receiver.url("hook", creds)),
            # Webhook tokens live in the path (Slack, Discord): Apprise and urllib3 log paths.
            channel("token", receiver.url(f"token/{PASSWORD}")),
            channel("refused", f"json://{creds}@127.0.0.1:9/hook/{PASSWORD}"),
            # A scheme-less typo: Apprise's own masking leaves such text as it is.
            channel("garbled", f"127.0.0.1/hook/{PASSWORD}"),
        ]
    )
    # An operator debugging delivery turns Apprise's and urllib3's logs all the way up.
    caplog.set_level(logging.DEBUG, logger="apprise")
    caplog.set_level(logging.DEBUG, logger="urllib3")
    receiver.statuses = {"hook": [500] * 10}
    h.start()
    h.notifier.enqueue([make_event()], time.time())
    await until(lambda: ("failing", "failure") in h.results)
    await until(lambda: ("token", "success") in h.results)
    await until(lambda: ("refused", "failure") in h.results)
    tested = await h.notifier.test_all()
    assert "garbled" in h.notifier.invalid_channels
    assert any(r.name == "apprise" and r.levelno == logging.DEBUG for r in caplog.records)
    everything = [
        caplog.text,
        *(r.getMessage() for r in caplog.records),
        *h.errors,
        *h.notifier.invalid_channels.values(),
        *(detail for _, detail in tested.values()),
    ]
    assert not [text for text in everything if PASSWORD in text]
    # The secret still went where it belongs: into the requests.
    assert {p.path for p in receiver.posts} == {"hook", f"token/{PASSWORD}"}


async def test_test_all_reports_per_channel(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    receiver.statuses = {"broken": [500]}
    h = make_harness(
        [
            channel("broken", receiver.url("broken")),
            channel("ok", receiver.url("ok")),
            channel("invalid", "nosuchscheme://x/y"),
            channel("am", "http://127.0.0.1:9/", type="alertmanager"),
        ]
    )
    results = await h.notifier.test_all()
    assert list(results) == ["broken", "ok", "invalid", "am"]
    assert results["broken"][0] is False and "500" in results["broken"][1]
    assert results["ok"] == (True, "")  # nothing more to say than "delivered"
    assert results["am"] == (False, "not an Apprise channel")
    assert results["invalid"][0] is False and "'invalid'" in results["invalid"][1]
    assert receiver.at("ok")[0].doc["title"] == TEST_TITLE
    assert not h.outbox.items


async def test_flush_sends_everything_due_without_waiting_for_the_group(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    h = make_harness([channel("ops", receiver.url("ops"))], group_wait=60.0)
    h.notifier.enqueue([make_event()], time.time())
    started = time.monotonic()
    await h.notifier.flush(2.0)
    assert time.monotonic() - started < 1.5
    assert len(receiver.posts) == 1
    assert not h.outbox.items


async def test_flush_gives_up_on_a_hanging_channel_in_time(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    receiver.hang = {"slow"}
    h = make_harness([channel("slow", receiver.url("slow"))])
    h.notifier.enqueue([make_event()], time.time())
    started = time.monotonic()
    await h.notifier.flush(0.5)
    assert time.monotonic() - started < 1.0
    assert len(h.outbox.items) == 1  # still queued for the next start


async def test_unpersisted_items_wait_and_restored_items_are_sent(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    restored = OutboxItem("old", "ops", event_payload(make_event()), created=time.time() - 60)
    h = make_harness([channel("ops", receiver.url("ops"))], items=[restored], persist=False)
    h.start()
    await until(lambda: len(receiver.posts) == 1)  # restored from disk: persisted already
    h.notifier.enqueue([make_event(prefix="198.51.100.0/24")], time.time())
    await asyncio.sleep(GROUP_WAIT + 0.3)
    assert len(receiver.posts) == 1  # not in the database yet: not sent
    h.outbox.persisted.update(h.outbox.items)
    await until(lambda: len(receiver.posts) == 2, within=2.0)


async def test_unreadable_outbox_item_is_dropped(
    receiver: Receiver, make_harness: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    junk = OutboxItem("junk", "ops", {"kind": "firing"}, created=time.time() - 60)
    good = OutboxItem("good", "ops", event_payload(make_event()), created=time.time() - 60)
    h = make_harness([channel("ops", receiver.url("ops"))], items=[junk, good])
    h.start()
    await until(lambda: not h.outbox.items)
    assert len(receiver.posts) == 1
    assert "dropping unreadable outbox item junk" in caplog.text
