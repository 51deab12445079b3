"""The web config file: what it may say, the errors that name file and key, and when the listener
warns that it is exposed (tests/unit/test_webconfig_https.py serves it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.exposition.web import exposure_warning
from monitor.exposition.webconfig import TlsConfig, WebConfig, load_web_config, ssl_context
from monitor.validate import ConfigError
from tests.webconfig_files import CONFIG, HASH, PASSWORD, USER, USERS_YAML, self_signed, web_config


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


# Ids from the messages: the texts hold a hash with a random salt, and xdist workers must
# collect the same ids.
@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[message for _, message in ERRORS])
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
