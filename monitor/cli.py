"""The `radar-monitor` command line: check, once, query, generate."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from monitor import __version__
from monitor.config import config_warnings, load_config
from monitor.config_asns import describe_asns
from monitor.core.measures import utc_text
from monitor.core.observation import ErrorKind, PrefixView
from monitor.core.origins import MAX_PREFIXES
from monitor.demo import run_demo
from monitor.generate import GenerateError, generate
from monitor.once import run_check
from monitor.ops.logs import setup_logging
from monitor.ops.terminal import printable_output
from monitor.planning import plan_for
from monitor.report import (
    check_json,
    check_table,
    describe_channels,
    query_csv,
    query_json,
    query_table,
)
from monitor.settings import DEFAULT_BASE_URL, SourceConfig
from monitor.sinks.notifier import Notifier
from monitor.sinks.outbox import Outbox
from monitor.sources.base import AuthError, SourceError
from monitor.sources.factory import configured_token, make_source
from monitor.supervisor import Supervisor
from monitor.validate import ConfigError, parse_asn, parse_prefix

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FIRED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
#: 128 + SIGPIPE, what a shell reports for a pipeline member its reader closed.
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="radar-monitor",
        description="Watch BGP prefixes through Cloudflare Radar and alert on what goes wrong.",
    )
    parser.add_argument("--version", action="version", version=f"radar-monitor {__version__}")
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["debug", "info", "warning", "error"],
        help="default: info for run and demo, warning otherwise",
    )
    parser.add_argument(
        "--log-format", default="human", choices=["human", "json"], help="stderr log lines"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="validate the configuration file")
    check.add_argument("--config", required=True, type=Path, help="YAML configuration file")

    once = sub.add_parser("once", help="fetch every prefix once and print what is wrong")
    once.add_argument("--config", required=True, type=Path, help="YAML configuration file")
    once.add_argument("--format", choices=["table", "json"], default="table")

    query = sub.add_parser("query", help="show what Radar sees for one prefix (no config needed)")
    query.add_argument("prefix", help="the prefix, e.g. 1.1.1.0/24")
    query.add_argument("--format", choices=["table", "json", "csv"], default="table")
    query.add_argument("--base-url", default=DEFAULT_BASE_URL)
    query.add_argument("--token-file", type=Path, default=None)
    query.add_argument("--timeout", type=float, default=20.0)

    gen = sub.add_parser("generate", help="print a prefixes: list of what ASes originate")
    gen.add_argument("--asn", required=True, action="append", type=_asn, help="repeatable")
    gen.add_argument("--out", type=Path, default=None, help="write here instead of stdout")
    gen.add_argument("--max-prefixes", type=_positive, default=MAX_PREFIXES, help="per AS")
    gen.add_argument("--base-url", default=DEFAULT_BASE_URL)
    gen.add_argument("--token-file", type=Path, default=None)
    gen.add_argument("--timeout", type=float, default=20.0)

    run = sub.add_parser("run", help="run the monitoring daemon")
    run.add_argument("--config", required=True, type=Path, help="YAML configuration file")

    demo = sub.add_parser("demo", help="run the daemon on a bundled incident replay, offline")
    demo.add_argument("--port", type=_port, default=9847, help="HTTP port on 127.0.0.1")

    test_notify = sub.add_parser("test-notify", help="send a test message to every channel")
    test_notify.add_argument("--config", required=True, type=Path, help="YAML configuration file")
    return parser


def _port(text: str) -> int:
    """A TCP port number, refused by argparse (exit 2) when it is not one."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, got {text!r}")
    return int(text)


def _asn(text: str) -> int:
    """An AS number (`64500` or `AS64500`), refused by argparse (exit 2) when it is not one."""
    try:
        return parse_asn(text, "--asn")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def _positive(text: str) -> int:
    """A whole number of at least 1, refused by argparse (exit 2) otherwise."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    with printable_output():  # no AS name may write escape sequences to the terminal
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    daemonish = args.command in ("run", "demo")
    setup_logging(args.log_level or ("info" if daemonish else "warning"), args.log_format)
    try:
        if args.command == "check":
            return cmd_check(args.config)
        if args.command == "once":
            return cmd_once(args.config, args.format)
        if args.command == "run":
            return cmd_run(args.config)
        if args.command == "demo":
            return cmd_demo(args.port)
        if args.command == "test-notify":
            return cmd_test_notify(args.config)
        if args.command == "generate":
            return cmd_generate(args)
        return cmd_query(args)
    except ConfigError as exc:
        print(f"radar-monitor: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AuthError as exc:  # no token, or a token file that cannot be read
        print(f"radar-monitor: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except BrokenPipeError:
        # The reader went away (`once … | head -1`): exit quietly, as grep does. Point stdout
        # at /dev/null so that the interpreter's final flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return 130


def cmd_check(path: Path) -> int:
    """Validate the file and summarise what it watches, including the poll plan."""
    config = load_config(path)
    configured_token(config.source)  # read as `run` will: a bad token file is a bad config
    print(f"{path}: OK, {len(config.prefixes)} prefixes, {len(config.rules)} rules")
    print("budget plan:")
    for line in plan_for(config).lines():
        print(f"  {line}")
    if config.asns:
        print(f"asns: {describe_asns(config.asns)}")
    for line in describe_channels(config):
        print(line)
    now = datetime.now(UTC)
    active = [s for s in config.silences if s.active(now)]
    print(f"silences: {len(active)} active of {len(config.silences)}")
    for s in active:
        until = f"until {utc_text(s.ends)}" if s.ends else "with no end"
        print(f"  {s.comment} ({until})")
    for warning in config_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def cmd_run(path: Path) -> int:
    """Run the daemon until SIGTERM."""
    config = load_config(path)
    for warning in config_warnings(config):
        log.warning("%s", warning)
    return asyncio.run(Supervisor(path, config).run())


def cmd_demo(port: int) -> int:
    """The daemon on the bundled replay and RIS Live story, state in a temporary folder."""
    return asyncio.run(run_demo(port))


def cmd_test_notify(path: Path) -> int:
    """Send a test message to every channel; exit 1 if any failed."""
    config = load_config(path)
    if not config.notifications.channels:
        print(f"{path}: no notification channels configured", file=sys.stderr)
        return EXIT_FIRED
    notifier = Notifier(
        config.notifications.channels,
        Outbox(),
        group_wait=0.0,
        max_backoff=0.0,
        can_send_unpersisted=lambda: True,
        on_change=lambda: None,
    )
    results = asyncio.run(notifier.test_all())
    width = max(len(name) for name in results)
    for name, (ok, detail) in results.items():
        line = f"{name.ljust(width)}  {'delivered' if ok else 'FAILED'}"
        print(f"{line}  {detail}" if detail else line)
    return EXIT_OK if all(ok for ok, _ in results.values()) else EXIT_FIRED


def cmd_once(path: Path, fmt: str) -> int:
    """Fetch and judge once; the exit code says whether anything fired."""
    config = load_config(path)
    result = asyncio.run(run_check(config))
    print(check_json(result) if fmt == "json" else check_table(result))
    auth = result.auth_failure
    if auth is not None:
        print(f"radar-monitor: {auth.message}", file=sys.stderr)
    for outcome in result.outcomes:
        failure = outcome.failure
        if failure is not None and failure.kind is not ErrorKind.AUTH:
            print(f"radar-monitor: {failure.prefix}: {failure.message}", file=sys.stderr)
    for problem in result.problems:
        print(f"radar-monitor: {problem}", file=sys.stderr)
    return result.exit_code


def _not_a_prefix(text: str) -> str:
    """Why `text` is not a prefix, and for a bare address which prefix to ask about."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return f"{text!r} is not a prefix (give one such as 1.1.1.0/24 or 2606:4700::/32)"
    # Radar's realtime routes answer exact prefixes only; the usual announced sizes.
    length = 24 if address.version == 4 else 48
    covering = ipaddress.ip_network(f"{address}/{length}", strict=False)
    return (
        f"{address} is an address, not a prefix: Radar answers exact prefixes only. "
        f"Ask about the prefix that covers it, often {covering} "
        f"(https://bgp.tools/prefix/{address} shows which one is announced)"
    )


async def _fetch_one(prefix: str, settings: SourceConfig) -> PrefixView:
    source = make_source(settings, require_token=True)
    try:
        return await source.fetch(prefix)
    finally:
        await source.close()


def cmd_query(args: argparse.Namespace) -> int:
    """What Radar sees for one prefix, for on-call."""
    try:
        prefix = parse_prefix(args.prefix, "PREFIX")
    except ConfigError:
        print(f"radar-monitor: query: {_not_a_prefix(args.prefix)}", file=sys.stderr)
        return EXIT_USAGE
    settings = SourceConfig(
        base_url=args.base_url.rstrip("/"), token_file=args.token_file, timeout=args.timeout
    )
    try:
        view = asyncio.run(_fetch_one(prefix, settings))
    except ConfigError as exc:  # the token file: there is no config file to blame
        print(f"radar-monitor: --token-file: {exc.problem}", file=sys.stderr)
        return EXIT_USAGE
    except AuthError as exc:
        print(f"radar-monitor: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except SourceError as exc:
        print(f"radar-monitor: {prefix}: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    now = datetime.now(UTC)
    if args.format == "json":
        print(query_json(view, now))
    elif args.format == "csv":
        print(query_csv(view), end="")
    else:
        print(query_table(view, now))
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    """A `prefixes:` list of what the ASes originate, for a first configuration."""
    settings = SourceConfig(
        base_url=args.base_url.rstrip("/"), token_file=args.token_file, timeout=args.timeout
    )
    try:
        generate(args.asn, settings, args.max_prefixes, args.out)
    except ConfigError as exc:  # the token file: there is no config file to blame
        print(f"radar-monitor: --token-file: {exc.problem}", file=sys.stderr)
        return EXIT_USAGE
    except GenerateError as exc:
        print(f"radar-monitor: generate: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE if exc.unreachable else EXIT_FIRED
    return EXIT_OK
