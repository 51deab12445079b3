"""A group's lines split into consecutive messages, each within its channel's length limit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: A group is told in at most this many messages, the last counting what did not fit, so a
#: backlog of thousands of alerts cannot become thousands of messages on a short channel.
MAX_PARTS = 20
#: Characters a line may always keep, even where a channel's limit leaves less room.
LINE_FLOOR = 80
#: Room kept for the widest part number, ` (20/20)`, where a title is sent inside the body.
SUFFIX_ROOM = len(f" ({MAX_PARTS}/{MAX_PARTS})")
#: What a channel puts between a title it sends inside the body and the body (Apprise: CRLF).
TITLE_JOINT = 2

#: One line of a message and the events (indices into the group) it tells about.
Block = tuple[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Limit:
    """A channel's length limit: characters of body, counted as the channel will send them."""

    body: int
    #: The channel has no title field and sends the title at the head of the body.
    title_in_body: bool = False
    #: The length of a text once converted to the channel's format (escaping lengthens it).
    measure: Callable[[str], int] = len

    def budget(self, title: str, parts: bool) -> int:
        """Characters left for the body of a message titled `title` (plus a part number)."""
        if not self.title_in_body:
            return self.body
        return self.body - self.measure(title) - TITLE_JOINT - (SUFFIX_ROOM if parts else 0)


def pack(
    blocks: Sequence[Block],
    budget: int,
    measure: Callable[[str], int],
    rest_line: Callable[[Sequence[int]], str],
) -> list[Block]:
    """`blocks` in order, joined by newlines into at most `MAX_PARTS` texts that each measure
    at most `budget`; the last ends with `rest_line` of the events it cannot hold."""
    fitted = [(fit(text, budget, measure), told) for text, told in blocks]
    groups = fill(fitted, budget, measure)
    if len(groups) > MAX_PARTS:
        start = groups[MAX_PARTS - 1][0]
        rest = [i for _, told in fitted[start:] for i in told]
        room = budget - measure("\n" + rest_line(rest))  # the longest it can be
        last = fill(fitted[start:], room, measure)[0] if measure(fitted[start][0]) <= room else []
        counted = [i for _, told in fitted[start + len(last) :] for i in told]
        fitted = [*fitted[: start + len(last)], (rest_line(counted), tuple(counted))]
        groups = [*groups[: MAX_PARTS - 1], [*(start + k for k in last), len(fitted) - 1]]
    return [
        ("\n".join(fitted[k][0] for k in group), tuple(i for k in group for i in fitted[k][1]))
        for group in groups
    ]


def fill(blocks: Sequence[Block], budget: int, measure: Callable[[str], int]) -> list[list[int]]:
    """Positions of `blocks` grouped greedily so that each group's text measures at most
    `budget` (a group of one block may measure more).

    Sizes are added up line by line, then each group is measured whole and hands its last
    lines to the next while it is too long (escaping can depend on neighbouring text).
    """
    newline = measure("\n")
    groups: list[list[int]] = [[]]
    size = 0
    for k, (text, _) in enumerate(blocks):
        cost = measure(text) + (newline if groups[-1] else 0)
        if groups[-1] and size + cost > budget:
            groups.append([])
            cost -= newline
            size = 0
        groups[-1].append(k)
        size += cost
    k = 0
    while k < len(groups):
        group = groups[k]
        while len(group) > 1 and measure("\n".join(blocks[j][0] for j in group)) > budget:
            if k + 1 == len(groups):
                groups.append([])
            groups[k + 1].insert(0, group.pop())
        k += 1
    return groups


def fit(text: str, budget: int, measure: Callable[[str], int]) -> str:
    """`text`, cut with an ellipsis until it measures at most `budget` (a line never splits)."""
    while len(text) > 2 and measure(text) > budget:
        keep = max(1, len(text) - (measure(text) - budget) - 1)
        text = text[:keep].rstrip() + "…"
    return text
