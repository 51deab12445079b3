"""TLS and basic auth from the web config file, served over real HTTPS, and the request limits."""

from __future__ import annotations

import base64
import logging
import shutil
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import bcrypt
import pytest

from monitor.config import load_config
from monitor.exposition import webconfig
from monitor.exposition.metrics import Metrics
from monitor.exposition.web import bound_port, exposure_warning, make_app, start_http
from monitor.exposition.webconfig import TlsConfig, WebConfig, load_web_config, ssl_context
from monitor.validate import ConfigError
from tests.builders import monitor_state, serving
from tests.tools import require_tool

USER, PASSWORD = "prometheus", "correct horse battery staple"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
CONFIG = """
prefixes:
  - {prefix: 192.0.2.0/24, origins: [64500]}
rules:
  - {name: rpki-invalid, type: rpki_invalid, severity: critical}
"""
PATHS = ["/", "/metrics", "/healthz", "/readyz", "/api/v1/alerts", "/no-such-page"]
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
Http = tuple[aiohttp.ClientSession, str]


def openssl(folder: Path, *args: str) -> None:
    """Run the openssl CLI in `folder` (skips the test where it is missing)."""
    subprocess.run([require_tool("openssl"), *args], cwd=folder, check=True, capture_output=True)


def self_signed(folder: Path, name: str) -> None:
    """`name`.pem and `name`.key: a fresh certificate for localhost signed by itself."""
    openssl(
        folder,
        *("req", "-x509", *EC_KEY, "-subj", "/CN=localhost", "-days", "2"),
        *("-keyout", f"{name}.key", "-out", f"{name}.pem"),
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, server and client certificates it signed, and the server key encrypted."""
    folder = tmp_path_factory.mktemp("pki")
    openssl(
        folder,
        *("req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"),
        *("-subj", "/CN=radar-monitor test CA", "-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign"),
    )
    for name, usage, san in (
        ("server", "serverAuth", "IP:127.0.0.1,DNS:localhost"),
        ("client", "clientAuth", "DNS:prometheus"),
    ):
        (folder / f"{name}.ext").write_text(
            f"subjectAltName={san}\nextendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n"
            "authorityKeyIdentifier=keyid\n"
        )
        csr = ("-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
        openssl(folder, "req", *EC_KEY, *csr)
        openssl(
            folder,
            *("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key"),
            *("-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem"),
        )
    openssl(folder, "pkey", "-in", "server.key", "-aes256", "-passout", "pass:x", "-out", "enc.key")
    return folder


def tls_yaml(pki: Path, **extra: str) -> str:
    """A tls_server_config section with the server certificate and `extra` keys."""
    items = {"cert_file": str(pki / "server.pem"), "key_file": str(pki / "server.key"), **extra}
    return "tls_server_config:\n" + "".join(f"  {k}: {v!r}\n" for k, v in items.items())


USERS_YAML = f"basic_auth_users:\n  {USER}: '{HASH}'\n"


def web_config(folder: Path, text: str) -> WebConfig:
    """`text` loaded as `folder`/web.yml."""
    path = folder / "web.yml"
    path.write_text(text)
    return load_web_config(path)


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
    monkeypatch.setattr(webconfig, "CACHE_SECONDS", 0.0)
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


def test_an_unset_web_config_changes_nothing() -> None:
    assert ssl_context(None) is None
    assert ssl_context(WebConfig(basic_auth_users={USER: HASH})) is None


def test_relative_paths_and_the_config_file(pki: Path, tmp_path: Path) -> None:
    tls = tmp_path / "etc" / "tls"
    tls.mkdir(parents=True)
    for name in ("server.pem", "server.key"):
        shutil.copy(pki / name, tls)
    (tls / "web.yml").write_text(
        "tls_server_config: {cert_file: server.pem, key_file: server.key}\n" + USERS_YAML
    )
    config_file = tmp_path / "etc" / "cfg.yaml"
    config_file.write_text(CONFIG + "http: {listen: '0.0.0.0:9847', web_config_file: tls/web.yml}")
    web = load_config(config_file).http.web
    assert web is not None and web.tls is not None
    assert (web.tls.cert_file, web.tls.key_file) == (tls / "server.pem", tls / "server.key")
    assert web.basic_auth_users == {USER: HASH}
    assert HASH not in repr(web)
    (tls / "web.yml").write_text(f"basic_auth_users: {{{USER}: {PASSWORD}}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(config_file)
    assert str(info.value) == (
        f"{config_file}: http.web_config_file: {tls / 'web.yml'}: basic_auth_users.{USER}:"
        " must be a bcrypt hash ($2a$, $2b$ or $2y$), not a password"
    )


def test_a_renewed_certificate_changes_the_config(tmp_path: Path) -> None:
    self_signed(tmp_path, "server")
    text = "tls_server_config: {cert_file: server.pem, key_file: server.key}\n"
    first = web_config(tmp_path, text)
    assert web_config(tmp_path, text) == first
    self_signed(tmp_path, "server")  # same paths, new contents: the listener must restart
    assert web_config(tmp_path, text) != first


ERRORS = [
    ("", "the file is empty; drop http.web_config_file for no TLS and no auth"),
    (
        "basic_auth_users: [",
        "line 2: invalid YAML: expected the node content, but found '<stream end>'",
    ),
    ("tls_config: {}", "tls_config: unknown key (known keys: basic_auth_users, tls_server_config)"),
    ("rate_limit: {interval: 1s}", "rate_limit: is not supported by radar-monitor"),
    ("http_server_config: {http2: false}", "http_server_config: is not supported by radar-monitor"),
    (
        "tls_server_config: {cert: PEM}",
        "tls_server_config.cert: is not supported by radar-monitor",
    ),
    (
        "tls_server_config: {key_file: KEY}",
        "tls_server_config.cert_file: is required in tls_server_config",
    ),
    (
        "tls_server_config: {cert_file: CERT}",
        "tls_server_config.key_file: is required with cert_file",
    ),
    (
        "tls_server_config: {cert_file: CERT, key_file: KEY, certfile: x}",
        "tls_server_config.certfile: unknown key (known keys: cert_file, client_auth_type,"
        " client_ca_file, key_file, min_version)",
    ),
    (
        "tls_server_config: {cert_file: DIR/missing.pem, key_file: KEY}",
        "tls_server_config.cert_file: DIR/missing.pem: cannot read: No such file or directory",
    ),
    (
        "tls_server_config: {cert_file: KEY, key_file: KEY}",
        "tls_server_config.cert_file: DIR/server.key holds no PEM certificate",
    ),
    (
        "tls_server_config: {cert_file: CERT, key_file: CERT}",
        "tls_server_config.key_file: DIR/server.pem holds no PEM private key",
    ),
    (
        "tls_server_config: {cert_file: CERT, key_file: DIR/ca.key}",
        "tls_server_config.key_file: does not belong to cert_file",
    ),
    (
        "tls_server_config: {cert_file: CERT, key_file: DIR/enc.key}",
        "tls_server_config.key_file: DIR/enc.key is encrypted; use a key without a passphrase",
    ),
    (
        "tls_server_config: {cert_file: CERT, key_file: KEY, min_version: TLS11}",
        "tls_server_config.min_version: must be one of TLS12, TLS13, got 'TLS11'",
    ),
    (
        "tls_server_config: {cert_file: CERT, key_file: KEY, client_auth_type: RequireAnyClientCert}",
        "tls_server_config.client_auth_type: must be one of NoClientCert,"
        " RequireAndVerifyClientCert, got 'RequireAnyClientCert'",
    ),
    (
        "tls_server_config: {cert_file: CERT, key_file: KEY,"
        " client_auth_type: RequireAndVerifyClientCert}",
        "tls_server_config.client_ca_file: is required with RequireAndVerifyClientCert",
    ),
    (
        "tls_server_config: {cert_file: CERT, key_file: KEY, client_ca_file: DIR/ca.pem}",
        "tls_server_config.client_ca_file: has no effect unless client_auth_type is"
        " RequireAndVerifyClientCert",
    ),
    (
        "tls_server_config: {cert_file: CERT, key_file: KEY,"
        " client_auth_type: RequireAndVerifyClientCert, client_ca_file: DIR/ca.key}",
        "tls_server_config.client_ca_file: DIR/ca.key holds no PEM certificate",
    ),
    (
        f"basic_auth_users: {{alice: {PASSWORD}}}",
        "basic_auth_users.alice: must be a bcrypt hash ($2a$, $2b$ or $2y$), not a password",
    ),
    (
        f"basic_auth_users: {{alice: '{HASH[:-1]}'}}",
        "basic_auth_users.alice: must be a bcrypt hash ($2a$, $2b$ or $2y$), not a password",
    ),
    (
        f"basic_auth_users: {{'a:b': '{HASH}'}}",
        "basic_auth_users.a:b: user names must be non-empty and without a colon",
    ),
    ("basic_auth_users: [alice]", "basic_auth_users: must be a mapping, got ['alice']"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_name_the_file_and_key(pki: Path, tmp_path: Path, text: str, message: str) -> None:
    text = text.replace("CERT", "DIR/server.pem").replace("KEY", "DIR/server.key")
    path = tmp_path / "web.yml"
    path.write_text("# web config\n" + text.replace("DIR", str(pki)) if text else "")
    with pytest.raises(ConfigError) as info:
        load_web_config(path)
    assert str(info.value) == f"{path}: {message.replace('DIR', str(pki))}"
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    ("host", "users", "tls", "warning"),
    [
        ("127.0.0.1", False, False, None),
        ("127.0.0.53", False, False, None),
        ("::1", False, False, None),
        ("localhost", False, False, None),
        (
            "0.0.0.0",
            False,
            False,
            "HTTP listener on 0.0.0.0 is reachable from other hosts without authentication;"
            " set basic_auth_users in http.web_config_file",
        ),
        ("::", False, True, "HTTP listener on :: is reachable from other hosts without auth"),
        ("monitor.example", False, False, "HTTP listener on monitor.example is reachable"),
        (
            "192.0.2.10",
            True,
            False,
            "HTTP listener on 192.0.2.10 takes passwords without TLS, readable on the network;"
            " set tls_server_config in http.web_config_file",
        ),
        ("192.0.2.10", True, True, None),
    ],
)
def test_exposure_warning(host: str, users: bool, tls: bool, warning: str | None) -> None:
    cfg = WebConfig(
        tls=TlsConfig(Path("c.pem"), Path("k.pem")) if tls else None,
        basic_auth_users={USER: HASH} if users else {},
    )
    text = exposure_warning(host, cfg)
    assert (text is None) == (warning is None)
    assert text is None or warning is None or text.startswith(warning)


def test_client_certificates_count_as_authentication() -> None:
    tls = TlsConfig(
        Path("c.pem"),
        Path("k.pem"),
        client_auth_type="RequireAndVerifyClientCert",
        client_ca_file=Path("ca.pem"),
    )
    assert exposure_warning("0.0.0.0", WebConfig(tls=tls)) is None
    assert exposure_warning("0.0.0.0", None) is not None


async def test_the_plain_app_needs_no_password() -> None:
    state = monitor_state(CONFIG)
    app = make_app(lambda: state, Metrics(lambda: state), web_config=WebConfig())
    async with serving(app) as url, aiohttp.ClientSession() as session:
        assert (await get((session, url), "/healthz"))[0] == 200
