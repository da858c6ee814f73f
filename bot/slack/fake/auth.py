"""Tokens: which token a method takes, and auth.test."""

from typing import Optional

from .errors import SlackApiFailure


class Auth:
    """FakeSlack's token checks (bot_token for the Web API, app_token for apps.connections.open)."""

    def _authenticate(self, method: str, token: Optional[str]) -> None:
        if not token:
            raise SlackApiFailure("not_authed")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token == expected:
            return
        if token in (self.app_token, self.bot_token):
            raise SlackApiFailure("not_allowed_token_type")
        raise SlackApiFailure("invalid_auth")

    def _auth_test(self, params: dict) -> dict:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }
