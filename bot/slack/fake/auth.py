"""The install: which token a method takes, whether it was revoked, and the scopes granted."""

from typing import Optional

from bot.slack.scopes import METHOD_SCOPES

from .errors import SlackApiFailure


class Auth:
    """FakeSlack's install state: `scopes`, `_token_revoked` (reset() restores what was installed)."""

    def revoke_token(self) -> None:
        """Uninstall the app as far as the bot token goes: every Web API call answers token_revoked."""
        with self._lock:
            self._token_revoked = True

    def grant_scope(self, *scopes: str) -> None:
        with self._lock:
            self.scopes.update(scopes)

    def revoke_scope(self, *scopes: str) -> None:
        """Take scopes away, as a re-install with a smaller manifest would."""
        with self._lock:
            self.scopes.difference_update(scopes)

    def _restore_install(self) -> None:
        self.scopes = set(self._installed_scopes)
        self._token_revoked = False

    def _authenticate(self, method: str, token: Optional[str]) -> None:
        if not token:
            raise SlackApiFailure("not_authed")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token == expected:
            if token == self.bot_token and self._token_revoked:
                raise SlackApiFailure("token_revoked")
            return
        if token in (self.app_token, self.bot_token):
            raise SlackApiFailure("not_allowed_token_type")
        raise SlackApiFailure("invalid_auth")

    def _check_scope(self, method: str, params: dict) -> None:
        """Refuse like Slack when the method's scope (for conversations, the one for its type) is not granted."""
        scopes = METHOD_SCOPES.get(method)
        if not scopes:
            return
        needed = scopes[0]
        if len(scopes) > 1:
            needed = scopes[self._conversation_kind(params.get("channel"))]
        if needed not in self.scopes:
            raise SlackApiFailure("missing_scope", needed=needed, provided=",".join(sorted(self.scopes)))

    def _conversation_kind(self, channel_id: object) -> int:
        """0 for a public channel (or one not known), 1 for a private channel, 2 for a DM."""
        channel = self._channels.get(channel_id) if isinstance(channel_id, str) else None
        if channel is None:
            return 2 if isinstance(channel_id, str) and channel_id.startswith(("D", "U", "W")) else 0
        if channel["is_im"]:
            return 2
        return 1 if channel["is_private"] else 0

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
