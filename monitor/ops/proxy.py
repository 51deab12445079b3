"""Outgoing HTTP through the proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`).

aiohttp ignores these unless told; Apprise (through requests) already follows them. Loopback
destinations never go through a proxy, whatever the environment says.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from urllib.parse import urlsplit


def proxy_for(url: str) -> str | None:
    """The proxy URL to reach `url` through, or None to connect directly."""
    split = urlsplit(url)
    host = split.hostname or ""
    if _loopback(host):
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(split.scheme)
    if proxy is None or urllib.request.proxy_bypass(host):
        return None
    return proxy


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
