"""The fake must answer the real slack_sdk clients the way Slack does, or the bot's tests lie.

One fake per test module with a small directory; a module that needs another directory defines
its own `server`, `fake` or `client`, which pytest prefers to these.
"""

import pytest
from slack_sdk import WebClient

from bot.slack.fake.server import FakeSlack
from tests.fake.common import CHANNEL


@pytest.fixture(scope="module")
def server():
    with FakeSlack() as fake:
        fake.add_user("U0DANA", name="dana", real_name="Dana Scully", email="Dana@Example.com")
        fake.add_user("U0ERIN", name="erin", tz="Europe/Berlin")
        fake.add_user("U0GONE", name="gone", deleted=True)
        fake.add_user("U0OUT", name="outsider")
        fake.add_channel(CHANNEL, name="checkout", members=("U0DANA", "U0ERIN"))
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    return server


@pytest.fixture
def client(fake):
    return WebClient(base_url=fake.api_url, token=fake.bot_token)
