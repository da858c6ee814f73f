"""Fake Slack for the bot's tests: a stateful Web API/Socket Mode server and a signed-request driver."""

from .driver import SlackDriver
from .server import FakeSlack

__all__ = ["FakeSlack", "SlackDriver"]
