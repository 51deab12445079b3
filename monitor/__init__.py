"""radar-monitor: watch your BGP prefixes through Cloudflare Radar and alert on what goes wrong."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("radar-monitor")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
