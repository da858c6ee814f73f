"""conversations.info in the emulator answers as Slack does for the channels `releasebot doctor` asks about."""

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.fake import FakeSlack


@pytest.fixture
def fake():
    with FakeSlack() as fake:
        fake.add_channel("C0CHECKOUT", name="checkout-releases")
        fake.add_channel("C0QUIET", bot_member=False)
        fake.add_channel("G0SECRET", bot_member=False)
        yield fake


def info(fake: FakeSlack, channel: str) -> dict:
    return WebClient(token=fake.bot_token, base_url=fake.api_url).conversations_info(channel=channel)["channel"]


def test_a_channel_is_described_with_membership_and_archiving(fake):
    assert info(fake, "C0CHECKOUT") == {
        "id": "C0CHECKOUT", "name": "checkout-releases", "is_channel": True, "is_group": False, "is_im": False,
        "is_private": False, "is_archived": False, "is_member": True,
    }
    assert info(fake, "C0QUIET")["is_member"] is False
    fake.archive_channel("C0CHECKOUT")
    assert info(fake, "C0CHECKOUT")["is_archived"] is True


@pytest.mark.parametrize("channel", ["C0NOSUCH", "G0SECRET", "#checkout-releases"])
def test_unknown_channels_names_and_private_channels_without_the_bot_are_not_found(fake, channel):
    with pytest.raises(SlackApiError) as refused:
        info(fake, channel)
    assert refused.value.response["error"] == "channel_not_found"
