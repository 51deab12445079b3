"""TLS and basic auth for the HTTP listener, read from a Prometheus-style web config file.

This module reads and checks the file; `monitor.exposition.auth` checks the passwords.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from monitor.validate import ConfigError, Section, load_yaml, one_of, read_limited, string

#: The web config file and each PEM file are refused unread beyond this size.
MAX_FILE_BYTES = 1024 * 1024
NO_CLIENT_CERT = "NoClientCert"
REQUIRE_CLIENT_CERT = "RequireAndVerifyClientCert"
TLS_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
_BCRYPT_HASH = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
_PEM_KEY = re.compile(rb"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
#: Keys of Prometheus's format that radar-monitor does not implement, by section.
_UNSUPPORTED = {
    "": ("http_server_config", "rate_limit"),
    "tls_server_config": (
        "cert",
        "key",
        "client_ca",
        "client_allowed_sans",
        "max_version",
        "cipher_suites",
        "prefer_server_cipher_suites",
        "curve_preferences",
    ),
}


@dataclass(frozen=True)
class TlsConfig:
    """The server certificate and key, and the CA client certificates must chain to if any."""

    cert_file: Path
    key_file: Path
    client_auth_type: str = NO_CLIENT_CERT
    client_ca_file: Path | None = None
    min_version: str = "TLS12"
    #: Of the PEM files' contents: a reload after certificate renewal restarts the listener.
    digest: str = field(default="", repr=False)

    @property
    def verifies_clients(self) -> bool:
        """Whether only clients with a certificate from `client_ca_file` get in."""
        return self.client_auth_type == REQUIRE_CLIENT_CERT


@dataclass(frozen=True)
class WebConfig:
    """What the web config file asks for: TLS when `tls` is set, basic auth when users are."""

    tls: TlsConfig | None = None
    #: User name → bcrypt hash; kept out of repr since hashes of weak passwords can be cracked.
    basic_auth_users: Mapping[str, str] = field(default_factory=dict, repr=False)


def load_web_config(path: Path) -> WebConfig:
    """Read and validate the file; every problem is a ConfigError naming it and the key path."""
    try:
        return _parse(path)
    except ConfigError as exc:
        raise exc.in_file(str(path)) from None


def ssl_context(cfg: WebConfig | None) -> ssl.SSLContext | None:
    """A server context built from the files as they are now, or None when TLS is off."""
    if cfg is None or cfg.tls is None:
        return None
    tls = cfg.tls
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = TLS_VERSIONS[tls.min_version]
    # An empty password: an encrypted key fails here instead of prompting on the terminal.
    context.load_cert_chain(tls.cert_file, tls.key_file, password=b"")
    if tls.verifies_clients:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=tls.client_ca_file)
    return context


def _parse(path: Path) -> WebConfig:
    try:
        text = read_limited(path, MAX_FILE_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("", "not UTF-8 text") from None
    data = load_yaml(text)
    if data is None:
        raise ConfigError("", "the file is empty; drop http.web_config_file for no TLS and no auth")
    top = Section(data, "")
    _refuse_unsupported(top)
    tls_section = top.sub("tls_server_config")
    tls = _tls(tls_section, path.parent) if tls_section.data else None
    users = _users(top.sub("basic_auth_users"))
    top.close()
    return WebConfig(tls=tls, basic_auth_users=users)


def _refuse_unsupported(s: Section) -> None:
    for key in _UNSUPPORTED[s.path]:
        if key in s.data:
            raise ConfigError(s.where(key), "is not supported by radar-monitor")


def _tls(s: Section, folder: Path) -> TlsConfig:
    _refuse_unsupported(s)
    cert = s.get("cert_file", string, None)
    key = s.get("key_file", string, None)
    client_auth = s.get(
        "client_auth_type", one_of(NO_CLIENT_CERT, REQUIRE_CLIENT_CERT), NO_CLIENT_CERT
    )
    client_ca = s.get("client_ca_file", string, None)
    min_version = s.get("min_version", one_of(*TLS_VERSIONS), "TLS12")
    s.close()
    if cert is None:
        raise ConfigError(s.where("cert_file"), "is required in tls_server_config")
    if key is None:
        raise ConfigError(s.where("key_file"), "is required with cert_file")
    if client_auth == REQUIRE_CLIENT_CERT and client_ca is None:
        raise ConfigError(s.where("client_ca_file"), f"is required with {REQUIRE_CLIENT_CERT}")
    if client_auth != REQUIRE_CLIENT_CERT and client_ca is not None:
        raise ConfigError(
            s.where("client_ca_file"),
            f"has no effect unless client_auth_type is {REQUIRE_CLIENT_CERT}",
        )
    files = {"cert_file": folder / cert, "key_file": folder / key}
    if client_ca is not None:
        files["client_ca_file"] = folder / client_ca
    digest = hashlib.sha256()
    for name, file in files.items():
        digest.update(_pem(s.where(name), file, private=name == "key_file"))
    tls = TlsConfig(
        cert_file=files["cert_file"],
        key_file=files["key_file"],
        client_auth_type=client_auth,
        client_ca_file=files.get("client_ca_file"),
        min_version=min_version,
        digest=digest.hexdigest(),
    )
    try:
        ssl_context(WebConfig(tls=tls))
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise ConfigError(s.where("key_file"), "does not belong to cert_file") from None
        raise ConfigError(s.path, f"cannot use these files: {exc.reason or exc}") from None
    except OSError as exc:
        raise ConfigError(s.path, f"cannot read the files: {exc.strerror or exc}") from None
    return tls


def _pem(where: str, file: Path, *, private: bool) -> bytes:
    """The file's bytes after a check that it holds what `where` promises."""
    try:
        raw = read_limited(file, MAX_FILE_BYTES)
    except ConfigError as exc:
        raise ConfigError(where, f"{file}: {exc.problem}") from None
    if private and b"ENCRYPTED" in raw:
        raise ConfigError(where, f"{file} is encrypted; use a key without a passphrase")
    if private and not _PEM_KEY.search(raw):
        raise ConfigError(where, f"{file} holds no PEM private key")
    if not private and b"-----BEGIN CERTIFICATE-----" not in raw:
        raise ConfigError(where, f"{file} holds no PEM certificate")
    return raw


def _users(s: Section) -> dict[str, str]:
    users = {}
    for name, hashed in s.data.items():
        if not name or ":" in name:
            raise ConfigError(s.where(name), "user names must be non-empty and without a colon")
        # The value is never echoed: it may be a password written where its hash belongs.
        if not isinstance(hashed, str) or not _BCRYPT_HASH.fullmatch(hashed):
            raise ConfigError(
                s.where(name), "must be a bcrypt hash ($2a$, $2b$ or $2y$), not a password"
            )
        users[name] = hashed
    return users
