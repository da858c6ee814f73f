"""How the emulator refuses a call: the exception a method raises to answer ``{"ok": false}``."""

from typing import Any


class SlackApiFailure(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": ...}`` with HTTP 200."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def invalid(error: str, problems: list[str]) -> SlackApiFailure:
    """Slack reports schema problems both as ``errors`` and as ``response_metadata.messages``."""
    return SlackApiFailure(
        error,
        errors=problems,
        response_metadata={"messages": [f"[ERROR] {problem}" for problem in problems]},
    )
