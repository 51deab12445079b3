"""Web config files and the certificates they name, for the TLS and basic auth tests.

The certificates are made with the openssl CLI (a test without it is skipped, or fails under
CI=true): a few milliseconds per certificate, done once per test module by the `pki` fixture.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import bcrypt

from monitor.exposition.webconfig import WebConfig, load_web_config
from tests.tools import require_tool

USER, PASSWORD = "prometheus", "correct horse battery staple"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
CONFIG = """
prefixes:
  - {prefix: 192.0.2.0/24, origins: [64500]}
rules:
  - {name: rpki-invalid, type: rpki_invalid, severity: critical}
"""
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


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


def make_pki(folder: Path) -> Path:
    """A CA in `folder`, server and client certificates it signed, and the server key encrypted."""
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
