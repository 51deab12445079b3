"""`radar-monitor demo`: the full daemon on bundled incidents, no token, no network.

Radar's answers come from a bundled replay; RIS Live from a player on 127.0.0.1
(`monitor.demo_stream`) telling a bundled story, so the stream's client, RIB and judge run too.
Both are reconstructions of public accounts, and everything printed says so.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from monitor.bundled import bundled
from monitor.config import load_config
from monitor.core.lifecycle import AlertEvent
from monitor.core.measures import utc_text
from monitor.demo_story import Event, Story, load_story
from monitor.demo_stream import RisLivePlayer
from monitor.sinks.templates import render
from monitor.supervisor import Supervisor

#: The story the demo's RIS Live plays.
STORY = "rislive-youtube-2008.yaml"


def demo_config(folder: Path, port: int, stream_url: str) -> Path:
    """Write the bundled demo config into `folder`, with its state, port and stream URL."""
    doc = yaml.safe_load(bundled("demo.yaml").read_text(encoding="utf-8"))
    doc["source"]["file"] = str(bundled(doc["source"]["file"]))
    doc["http"]["listen"] = f"127.0.0.1:{port}"
    doc["state"] = {"path": str(folder / "state.db")}
    doc["stream"]["url"] = stream_url
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def print_events(events: Sequence[AlertEvent]) -> None:
    """Show a group of alert events as the notification that would be sent."""
    title, body = render(events)
    line = "=" * 78
    print(f"{line}\n{title}\n{line}\n{body}\n", flush=True)


def print_story_event(event: Event) -> None:
    """Tell what the story's RIS Live frames are about to show, marked as reconstructed."""
    print(f"RIS Live (RECONSTRUCTION), {utc_text(event.at)}: {event.say}\n", flush=True)


def banner(story: Story, replay: Path, port: int) -> str:
    """What the demo plays, that it is reconstructed, and where to look."""
    return (
        f"radar-monitor demo: replaying {replay} (reconstructed incidents, no network).\n"
        f"RIS Live: a local player tells a RECONSTRUCTION of {story.title} (from "
        f"{story.source.split(',')[0]}), {story.speed:g} times faster than it happened.\n"
        f"Status page and metrics: http://127.0.0.1:{port}/  (Ctrl-C stops)"
    )


async def run_demo(port: int) -> int:
    """The daemon on the replay and the story, state in a temporary folder; the exit code."""
    story = load_story(bundled(STORY))
    with tempfile.TemporaryDirectory(prefix="radar-monitor-demo-") as tmp:
        async with RisLivePlayer(story, on_event=print_story_event) as player:
            path = demo_config(Path(tmp), port, player.url)
            config = load_config(path)
            text = banner(story, config.source.file or path, port)
            supervisor = Supervisor(
                path,
                config,
                on_events=print_events,
                # Once the port is ours, so that a bind error is not preceded by it.
                on_listening=lambda: print(text, flush=True),
                listen_hint="choose another port with --port",
            )
            return await supervisor.run()
