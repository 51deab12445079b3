"""The Radar client against the fake server: errors classified, retries bounded, budget kept."""

from __future__ import annotations

import asyncio
import logging
import math
import tempfile
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import __version__
from monitor.ops.proxy import proxy_for
from monitor.ops.secret import Secret
from monitor.settings import SourceConfig
from monitor.sources.base import (
    ApiError,
    AuthError,
    BadAnswerError,
    TokenFileError,
    TooLargeError,
    TransientError,
)
from monitor.sources.radar_client import (
    ABSENT_RETRY_AFTER,
    USER_AGENT,
    RadarClient,
    RequestBudget,
    load_token,
    retry_after_seconds,
)
from monitor.sources.radar_routes import RadarRoutes
from testkit.answers import OriginSpec
from testkit.fakeradar import DEFAULT_TOKEN, FakeRadar

PREFIX = "192.0.2.0/24"
TOKEN = Secret(DEFAULT_TOKEN)


@pytest.fixture(autouse=True)
def scenario(fake: FakeRadar) -> None:
    fake.retry_after, fake.delay = 1, 30.0
    fake.set_prefix(PREFIX, [OriginSpec(64500, ratio=0.9)], n_routes=300)


def client(fake: FakeRadar, token: Secret | None = TOKEN, **settings: float) -> RadarRoutes:
    base = {"timeout": 2.0, "retries": 2, "backoff_base": 0.05, "backoff_max": 0.1}
    base.update(settings)
    config = SourceConfig(base_url=fake.base_url, **base)  # type: ignore[arg-type]
    return RadarRoutes(RadarClient(config, token))


async def test_fetch_decodes_and_sends_bearer_and_user_agent(fake: FakeRadar) -> None:
    async with client(fake) as c:
        answer = await c.fetch(PREFIX)
    assert [o.origin for o in answer.origins] == [64500]
    assert len(answer.routes) == 300
    assert fake.requests[-1].has_auth  # a wrong or missing token would have been a 403
    assert fake.requests[-1].user_agent == USER_AGENT
    assert USER_AGENT.startswith(f"radar-monitor/{__version__} ")


async def test_unknown_prefix_is_seen_by_nobody_not_an_error(fake: FakeRadar) -> None:
    async with client(fake) as c:
        answer = await c.fetch("198.51.100.0/24")
    assert answer.origins == () and answer.routes == ()


@pytest.mark.parametrize("token", [Secret("wrong-token"), Secret("")])
async def test_bad_token_is_auth_error_not_retried(fake: FakeRadar, token: Secret) -> None:
    async with client(fake, token=token) as c:
        with pytest.raises(AuthError, match="Radar rejected the API token") as info:
            await c.fetch(PREFIX)
    assert "10000" in str(info.value) or "6003" in str(info.value)
    # Someone who gave a token is told which permission it needs, not to provide one.
    assert "Account → Radar → Read" in str(info.value)
    assert "token_file" not in str(info.value)
    assert len(fake.requests) == 1


async def test_missing_token_fails_without_a_request(fake: FakeRadar) -> None:
    async with client(fake, token=None) as c:
        with pytest.raises(AuthError, match="no API token"):
            await c.fetch(PREFIX)
    assert fake.requests == []


@pytest.mark.parametrize("fault", ["500", "502_html", "truncated", "drop"])
async def test_transient_faults_are_retried_then_succeed(fake: FakeRadar, fault: str) -> None:
    fake.set_fault(fault, count=2)  # type: ignore[arg-type]
    async with client(fake) as c:
        answer = await c.fetch(PREFIX)
    assert answer.origins[0].origin == 64500


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("500", TransientError, "HTTP 500"),
        ("502_html", TransientError, "HTML error page"),
        ("truncated", TransientError, "not JSON"),
        ("success_false", ApiError, "2001"),
        ("success_false_200", ApiError, "Radar refused"),
        ("wrong_types", BadAnswerError, "$.result"),
        ("huge", TooLargeError, "cap"),
        ("huge_chunked", TooLargeError, "cap"),
    ],
)
async def test_errors_are_typed_and_retries_bounded(
    fake: FakeRadar, fault: str, error: type[Exception], words: str
) -> None:
    fake.set_fault(fault)  # type: ignore[arg-type]
    async with client(fake) as c:
        with pytest.raises(error) as info:
            await c.fetch(PREFIX)
    assert words in str(info.value)
    expected = 3 if issubclass(error, TransientError) else 1
    assert len(fake.requests) == expected


async def test_timeout_is_a_total_deadline_even_for_a_trickle(fake: FakeRadar) -> None:
    fake.trickle_interval = 0.1  # a byte every 0.1 s: no single read ever times out
    fake.set_fault("trickle")
    started = time.monotonic()
    async with client(fake, timeout=0.8, retries=0) as c:
        with pytest.raises(TransientError, match=r"no complete answer within 0\.8s"):
            await c.fetch(PREFIX)
    assert time.monotonic() - started < 3


async def test_429_waits_for_retry_after_and_pauses_everyone(fake: FakeRadar) -> None:
    fake.retry_after = 1
    fake.set_fault("429", count=1)
    async with client(fake) as c:
        first = asyncio.create_task(c.fetch(PREFIX))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(c.fetch(PREFIX))
        await asyncio.gather(first, second)
    limited_at = fake.requests[0].at
    later = [r.at for r in fake.requests[1:]]
    assert len(later) == 2
    assert min(later) >= limited_at + 1.0  # nobody asked again before Retry-After expired


async def test_connection_refused_is_transient() -> None:
    settings = SourceConfig(base_url="http://127.0.0.1:9/client/v4", retries=1, backoff_base=0.01)
    async with RadarRoutes(RadarClient(settings, TOKEN)) as c:
        with pytest.raises(TransientError, match="connection failed"):
            await c.fetch(PREFIX)


async def test_concurrency_cap(fake: FakeRadar) -> None:
    fake.latency = 0.2
    async with client(fake, concurrency=3) as c:
        await asyncio.gather(*(c.fetch(PREFIX) for _ in range(9)))
    assert fake.in_flight_max == 3


async def test_budget_never_exceeded_within_window() -> None:
    clock = [0.0]
    budget = RequestBudget(limit=5, window=10.0, clock=lambda: clock[0])
    for _ in range(5):
        await budget.acquire()
    blocked = asyncio.create_task(budget.acquire())
    await asyncio.sleep(0.05)
    assert not blocked.done() and budget.used == 5
    clock[0] = 10.0  # the first five starts leave the window
    await asyncio.wait_for(blocked, 2)
    assert budget.used == 1


async def test_client_budget_holds_requests(fake: FakeRadar) -> None:
    async with client(fake, budget=3, budget_window=1.0) as c:
        await asyncio.gather(*(c.fetch(PREFIX) for _ in range(6)))
    starts = sorted(r.at for r in fake.requests)
    for i in range(len(starts) - 3):
        assert starts[i + 3] - starts[i] >= 0.99  # never more than 3 within any second


async def test_token_never_in_errors_logs_or_repr(
    fake: FakeRadar, caplog: pytest.LogCaptureFixture
) -> None:
    secret = Secret("s3cr3t-token-value")
    caplog.set_level(logging.DEBUG)
    fake.set_fault("500", count=1)
    async with client(fake, token=secret) as c:
        with pytest.raises(AuthError) as info:
            await c.fetch(PREFIX)
        assert "s3cr3t" not in repr(c)
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in repr(info.value)
    assert "s3cr3t" not in caplog.text
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in f"{secret}"


def test_token_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "from-env")
    assert load_token(None) == Secret("from-env")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "cloudflare-api-token").write_text("from-credential\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert load_token(None) == Secret("from-credential")
    token_file = tmp_path / "token"
    token_file.write_text("  from-file\n")
    assert load_token(token_file) == Secret("from-file")
    with pytest.raises(TokenFileError, match="cannot read the token file: cannot open it"):
        load_token(tmp_path / "missing")
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert load_token(None) is None


def test_empty_token_file_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "token"
    empty.write_text("\n")
    with pytest.raises(
        TokenFileError, match=r"source\.token_file: the token file is empty"
    ) as info:
        load_token(empty)
    assert str(tmp_path) not in str(info.value)  # the path may come from ${ENV}


@pytest.mark.parametrize("text", ["S3cr\nEt", "S3cr Et", "S3cr\x1bEt"])
def test_a_token_that_cannot_be_a_header_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "token"
    path.write_text(text)
    with pytest.raises(TokenFileError, match="the token contains") as info:
        load_token(path)
    assert "S3cr" not in str(info.value)


async def test_requests_go_through_the_proxy_the_environment_names(
    fake: FakeRadar, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `radar.example` resolves nowhere: only the proxy (the fake, which answers absolute-form
    # requests like any forward proxy) can reach it.
    port = fake.base_url.split(":")[2].split("/")[0]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    config = SourceConfig(base_url="http://radar.example/client/v4", timeout=2.0, retries=0)
    async with RadarRoutes(RadarClient(config, TOKEN)) as c:
        answer = await c.fetch(PREFIX)
    assert [o.origin for o in answer.origins] == [64500]
    # NO_PROXY exempts the host: the request then goes direct, and fails.
    monkeypatch.setenv("NO_PROXY", "radar.example")
    async with RadarRoutes(RadarClient(config, TOKEN)) as c:
        with pytest.raises(TransientError):
            await c.fetch(PREFIX)


def test_loopback_never_goes_through_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert proxy_for("https://api.cloudflare.com/client/v4") == "http://proxy.example:3128"
    assert proxy_for("https://127.0.0.1:9093/api/v2/alerts") is None
    assert proxy_for("https://[::1]/x") is None
    assert proxy_for("https://localhost/x") is None


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=40)
    | st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "-1", "1e309", "9" * 400])
    | st.floats().map(repr)
    | st.integers(min_value=-(2**80), max_value=2**80).map(str)
)
def test_retry_after_is_always_a_finite_wait_within_bounds(header: str) -> None:
    wait = retry_after_seconds(header, 300.0)
    assert math.isfinite(wait) and 1.0 <= wait <= 300.0
    try:
        given_seconds = float(header)
    except ValueError:
        given_seconds = math.nan
    if math.isfinite(given_seconds) and given_seconds >= 0 and len(header) <= 32:
        assert wait == min(max(given_seconds, 1.0), 300.0)
    else:  # unusable: the same pause as a 429 without the header
        assert wait == retry_after_seconds(None, 300.0) == ABSENT_RETRY_AFTER


@pytest.mark.parametrize("header", ["nan", "1e309", "-1"])
async def test_429_with_an_unusable_retry_after_pauses_as_if_it_had_none(
    fake: FakeRadar, header: str
) -> None:
    # The absent pause (60 s) is capped by max_retry_after, so the test waits 1.5 s, not 60.
    fake.retry_after = header
    fake.set_fault("429", count=1)
    async with client(fake, max_retry_after=1.5) as c:
        answer = await asyncio.wait_for(c.fetch(PREFIX), 10)
    assert answer.origins[0].origin == 64500
    limited, retried = (r.at for r in fake.requests)
    assert retried >= limited + 1.5  # the full pause: not skipped, shortened, or a nan sleep


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("other_prefix", "the answer is for 203.0.113.0/24, not for 192.0.2.0/24"),
        ("deep_json", "nested deeper than any realtime answer"),
        ("bad_timestamp", "result.meta.data_time: not an ISO 8601 timestamp in the years"),
    ],
)
async def test_bad_answers_are_bad_answer_errors_not_retried(
    fake: FakeRadar, fault: str, words: str
) -> None:
    fake.set_fault(fault)  # type: ignore[arg-type]
    async with client(fake) as c:
        with pytest.raises(BadAnswerError) as info:
            await c.fetch(PREFIX)
    assert words in str(info.value)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("first-half\nsecond-half", "contains a line break"),
        ("first-half\r\nsecond-half", "contains a line break"),
        ("first-half\u2028second-half", "contains a line break"),
        ("first\x1bhalf", "contains control characters"),
        ("first\x7fhalf", "contains control characters"),
        ("first\thalf", "contains control characters"),
    ],
)
def test_a_token_that_cannot_travel_in_a_header_is_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, words: str
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    token_file = tmp_path / "token"
    token_file.write_text(text + "\n")
    with pytest.raises(AuthError, match=rf"source\.token_file: the token {words}") as info:
        load_token(token_file)
    assert "half" not in str(info.value)  # no part of the token is shown
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", text)
    with pytest.raises(AuthError, match=f"CLOUDFLARE_API_TOKEN: the token {words}"):
        load_token(None)


def test_a_token_file_that_is_not_a_token_says_why(tmp_path: Path) -> None:
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe token")
    with pytest.raises(AuthError, match="is not UTF-8 text"):
        load_token(binary)
    huge = tmp_path / "huge"
    huge.write_bytes(b"x" * 1_000_000)
    with pytest.raises(AuthError, match="larger than 4096 bytes"):
        load_token(huge)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_a_loaded_token_always_fits_in_a_header(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "token"
        token_file.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            token = load_token(token_file)
        except AuthError as exc:
            assert text.strip() == "" or text.strip() not in str(exc)
            return
    assert token is not None
    value = token.reveal()
    assert value == text.strip() and len(value.splitlines()) == 1
    assert not any(unicodedata.category(c) == "Cc" for c in value)
