"""TLS and basic auth for the HTTP listener, read from a Prometheus-style web config file."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from monitor.validate import ConfigError, Section, load_yaml, one_of, read_limited, string

#: The web config file and each PEM file are refused unread beyond this size.
MAX_FILE_BYTES = 1024 * 1024
REALM = "radar-monitor"
#: A verified password skips bcrypt this long: more than usual scrape intervals (15 s to 1 m).
CACHE_SECONDS = 300.0
#: bcrypt checks at once: wrong passwords sent in bulk cannot take every worker thread.
MAX_CONCURRENT_CHECKS = 2
#: bcrypt reads only this many bytes; longer passwords are refused rather than truncated.
MAX_PASSWORD_BYTES = 72
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


def basic_auth_middleware(users: Mapping[str, str]) -> Middleware:
    """A middleware answering 401 unless the request carries the password of one of `users`."""
    checker = _PasswordChecker(users)
    challenge = {hdrs.WWW_AUTHENTICATE: f'Basic realm="{REALM}"'}

    @web.middleware
    async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if await checker.allows(request.headers.get(hdrs.AUTHORIZATION)):
            return await handler(request)
        return web.Response(status=401, text="401: Unauthorized\n", headers=challenge)

    return basic_auth


class _PasswordChecker:
    """bcrypt verification off the event loop, remembering recent successes per user."""

    def __init__(self, users: Mapping[str, str]) -> None:
        if not users:
            raise ValueError("basic auth needs at least one user")
        self._users = dict(users)
        # Unknown users are checked against a real hash too, so timing does not tell names apart.
        self._decoy = next(iter(self._users.values()))
        # Keyed digests: the cache is no fast offline oracle for the passwords it vouches for.
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, tuple[bytes, float]] = {}
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_CHECKS)

    async def allows(self, header: str | None) -> bool:
        """Whether the Authorization header names a user and that user's password."""
        credentials = _credentials(header) if header is not None else None
        if credentials is None:
            return False
        user, password = credentials
        if len(password) > MAX_PASSWORD_BYTES:
            return False
        digest = hmac.new(self._key, password, hashlib.sha256).digest()
        now = time.monotonic()
        cached = self._verified.get(user)
        if cached is not None and now < cached[1] and hmac.compare_digest(cached[0], digest):
            return True
        known = user in self._users
        hashed = self._users.get(user, self._decoy).encode()
        async with self._slots:
            try:
                matches = await asyncio.to_thread(bcrypt.checkpw, password, hashed)
            except ValueError:  # a password bcrypt refuses (a NUL byte, say) is just wrong
                return False
        if not (known and matches):
            return False
        self._verified[user] = (digest, now + CACHE_SECONDS)
        return True


def _credentials(header: str) -> tuple[str, bytes] | None:
    """User and password of a `Basic` Authorization header, or None when it is something else."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        return (user.decode("utf-8"), password) if colon else None
    except ValueError:  # not base64, or a user name that is not UTF-8
        return None


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
