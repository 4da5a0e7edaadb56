"""Journal replay: JSON Lines of commands in, events and a rebuilt engine out (no file I/O)."""

import json
from collections.abc import Iterable

from matching.errors import JournalError

from .codec import command_from_dict, event_to_dict
from .commands import Command
from .engine import BookFactory, Engine
from .events import Event


def parse_journal(lines: Iterable[str]) -> list[Command]:
    """Parse every line (blank lines skipped); raise JournalError at the first bad one."""
    commands: list[Command] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            commands.append(command_from_dict(json.loads(line)))
        except json.JSONDecodeError as error:
            raise JournalError(number, f"not JSON ({error.msg})") from None
        except (ValueError, TypeError) as error:
            raise JournalError(number, str(error)) from None
    return commands


def replay(
    commands: Iterable[Command], book_factory: BookFactory | None = None
) -> tuple[Engine, list[Event]]:
    """Apply commands to a fresh engine; return it and every event."""
    engine = Engine(book_factory)
    events = engine.apply_many(commands)
    return engine, events


def events_to_lines(events: Iterable[Event]) -> list[str]:
    """Events as JSON Lines (one compact object per line, with a trailing newline)."""
    return [json.dumps(event_to_dict(e), separators=(",", ":")) + "\n" for e in events]
