"""Exceptions of the matching package, shared by the interpreted and the compiled build."""


class CorruptBook(AssertionError):
    """A book's internal indexes disagree with its orders."""


class JournalError(ValueError):
    """A journal line is not a valid command."""

    def __init__(self, line_number: int, message: str) -> None:
        super().__init__(f"line {line_number}: {message}")
        self.line_number = line_number
