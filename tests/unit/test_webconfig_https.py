"""TLS and basic auth from the web config file, served over real HTTPS, and the request limits."""

from __future__ import annotations

import base64
import logging
import ssl
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import bcrypt
import pytest

from monitor.exposition import auth
from monitor.exposition.metrics import Metrics
from monitor.exposition.web import bound_port, make_app, start_http
from monitor.exposition.webconfig import WebConfig, ssl_context
from tests.builders import monitor_state, serving
from tests.webconfig_files import CONFIG, PASSWORD, USER, USERS_YAML, tls_yaml, web_config

PATHS = ["/", "/metrics", "/healthz", "/readyz", "/api/v1/alerts", "/no-such-page"]
Http = tuple[aiohttp.ClientSession, str]


def client_tls(pki: Path, *, cert: bool = False) -> ssl.SSLContext:
    """A client trusting only the test CA, with the client certificate if `cert`."""
    context = ssl.create_default_context(cafile=pki / "ca.pem")
    if cert:
        context.load_cert_chain(pki / "client.pem", pki / "client.key")
    return context


@asynccontextmanager
async def https_client(cfg: WebConfig, client: ssl.SSLContext) -> AsyncIterator[Http]:
    """The app configured by `cfg` over HTTPS on a free port, and a client session for it."""
    state = monitor_state(CONFIG)
    app = make_app(lambda: state, Metrics(lambda: state), web_config=cfg)
    runner = await start_http(app, "127.0.0.1", 0, ssl_context(cfg))
    connector = aiohttp.TCPConnector(ssl=client)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            yield session, f"https://127.0.0.1:{bound_port(runner)}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def https(pki: Path, tmp_path: Path) -> AsyncIterator[Http]:
    """A client for the app behind TLS and basic auth."""
    cfg = web_config(tmp_path, tls_yaml(pki) + USERS_YAML)
    async with https_client(cfg, client_tls(pki)) as http:
        yield http


async def get(
    http: Http,
    path: str,
    auth: tuple[str, str] | None = None,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str]]:
    """Status and headers of one request, with basic auth when `auth` is given."""
    session, url = http
    headers = dict(headers or {})
    if auth:
        headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
    async with session.request(method, url + path, headers=headers) as resp:
        await resp.read()
        return resp.status, dict(resp.headers)


async def test_the_right_password_gets_through(https: Http) -> None:
    assert (await get(https, "/healthz", (USER, PASSWORD)))[0] == 200
    assert (await get(https, "/metrics", (USER, PASSWORD)))[0] == 200
    assert (await get(https, "/metrics", (USER, PASSWORD), method="HEAD"))[0] == 200
    assert (await get(https, "/metrics", (USER, PASSWORD), method="POST"))[0] == 405


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("auth", [None, (USER, "wrong"), ("nobody", PASSWORD), (USER, "")], ids=str)
async def test_every_path_asks_for_the_password(
    https: Http, path: str, auth: tuple[str, str] | None
) -> None:
    for method in ("GET", "HEAD", "POST"):
        status, headers = await get(https, path, auth, method=method)
        assert status == 401
        assert headers["WWW-Authenticate"] == 'Basic realm="radar-monitor"'
        assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {PASSWORD}",
        "Basic !!not-base64!!",
        "Basic " + base64.b64encode(b"no colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic " + base64.b64encode(f"{USER}:{'x' * 73}".encode()).decode(),
    ],
)
async def test_malformed_credentials_are_refused(https: Http, authorization: str) -> None:
    status, _ = await get(https, "/healthz", headers={"Authorization": authorization})
    assert status == 401


async def test_plain_http_to_the_tls_port_fails(https: Http) -> None:
    session, url = https
    with pytest.raises(aiohttp.ClientError):
        async with session.get(url.replace("https://", "http://") + "/healthz"):
            pass


async def test_untrusted_server_certificate_is_refused(https: Http) -> None:
    _, url = https
    async with aiohttp.ClientSession() as session:  # the system CAs do not know ours
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(url + "/healthz")


def count_checkpw(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Thread ids of every bcrypt check from now on."""
    calls: list[int] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(threading.get_ident())
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    return calls


async def test_a_verified_password_skips_bcrypt(
    https: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_checkpw(monkeypatch)
    for _ in range(3):
        assert (await get(https, "/metrics", (USER, PASSWORD)))[0] == 200
    assert len(calls) == 1
    assert threading.get_ident() not in calls  # bcrypt runs off the event loop's thread
    assert (await get(https, "/metrics", (USER, "wrong")))[0] == 401
    assert (await get(https, "/metrics", (USER, "wrong")))[0] == 401
    assert len(calls) == 3  # failures are never cached
    assert (await get(https, "/metrics", (USER, PASSWORD)))[0] == 200
    assert len(calls) == 3  # nor do they evict the right password
    assert (await get(https, "/metrics", ("nobody", PASSWORD)))[0] == 401
    assert len(calls) == 4  # unknown users cost a bcrypt check too: no timing oracle
    assert (await get(https, "/metrics", (USER, "x" * 73)))[0] == 401
    assert len(calls) == 4  # too long for bcrypt: refused without a check


async def test_the_cache_expires(https: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "CACHE_SECONDS", 0.0)
    calls = count_checkpw(monkeypatch)
    for _ in range(2):
        assert (await get(https, "/metrics", (USER, PASSWORD)))[0] == 200
    assert len(calls) == 2


async def test_client_certificates(pki: Path, tmp_path: Path) -> None:
    cfg = web_config(
        tmp_path,
        tls_yaml(
            pki, client_auth_type="RequireAndVerifyClientCert", client_ca_file=str(pki / "ca.pem")
        ),
    )
    async with https_client(cfg, client_tls(pki, cert=True)) as http:
        assert (await get(http, "/healthz"))[0] == 200
    async with https_client(cfg, client_tls(pki)) as http:
        with pytest.raises(aiohttp.ClientError):
            await get(http, "/healthz")


async def test_min_version(pki: Path, tmp_path: Path) -> None:
    cfg = web_config(tmp_path, tls_yaml(pki, min_version="TLS13"))
    old = client_tls(pki)
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    async with https_client(cfg, old) as http:
        with pytest.raises(aiohttp.ClientError):
            await get(http, "/healthz")
    async with https_client(cfg, client_tls(pki)) as http:
        assert (await get(http, "/healthz"))[0] == 200


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/" + "a" * 2100, {}),  # request line over 2048 bytes (aiohttp's default: 8190)
        ("/healthz", {"X-Big": "a" * 9000}),  # one header over 8190 bytes
        ("/healthz", {f"X-Many-{i}": "1" for i in range(40)}),  # over 32 headers (default 128)
    ],
    ids=["line", "field", "count"],
)
async def test_request_limits(https: Http, path: str, headers: dict[str, str]) -> None:
    status, _ = await get(https, path, (USER, PASSWORD), headers=headers)
    assert status == 400  # aiohttp answers 400 to all three, never 431, before auth runs
    assert (await get(https, path, headers=headers))[0] == 400


async def test_below_the_limits_is_served(https: Http) -> None:
    headers = {f"X-Many-{i}": "a" * 8000 for i in range(20)}
    assert (await get(https, "/" + "a" * 1900, (USER, PASSWORD), headers=headers))[0] == 404


async def test_no_password_in_the_logs(https: Http, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await get(https, "/metrics", (USER, PASSWORD))
    await get(https, "/metrics", (USER, PASSWORD + "!"))
    await get(https, "/metrics", (USER, "x" * 73))
    assert any(r.name == "aiohttp.access" for r in caplog.records)  # requests are logged...
    encoded = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, encoded, "x" * 73, "Basic "):
        assert secret not in caplog.text  # ...without what they carried


async def test_the_plain_app_needs_no_password() -> None:
    state = monitor_state(CONFIG)
    app = make_app(lambda: state, Metrics(lambda: state), web_config=WebConfig())
    async with serving(app) as url, aiohttp.ClientSession() as session:
        assert (await get((session, url), "/healthz"))[0] == 200
