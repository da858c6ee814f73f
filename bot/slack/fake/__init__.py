"""A Slack workspace emulator: a stateful Web API/Socket Mode server and a driver that signs requests
as Slack does. The tests use it as their Slack, and `releasebot demo` as its workspace, so the demo
never drifts from what is tested."""

from .driver import SlackDriver
from .server import FakeSlack

__all__ = ["FakeSlack", "SlackDriver"]
