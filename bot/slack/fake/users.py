"""The workspace directory: users, their Slack user objects, users.info and users.lookupByEmail."""

import copy
from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import SlackApiFailure

# Slack's tz_label is the long zone name; zoneinfo only knows the abbreviation.
TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "UTC": "Coordinated Universal Time",
}


class Directory:
    """FakeSlack's users (state: `_users`, kept by reset())."""

    def add_user(
        self,
        user_id: str,
        name: Optional[str] = None,
        real_name: Optional[str] = None,
        email: Optional[str] = None,
        tz: str = "America/New_York",
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        name = name or user_id.lower()
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "name": name,
                "real_name": real_name or name,
                "email": email,
                "tz": tz,
                "is_bot": is_bot,
                "deleted": deleted,
            }

    def deactivate_user(self, user_id: str) -> None:
        """Deactivate a member: users.info then says deleted, lookups by email stop finding them."""
        with self._lock:
            self._users[user_id]["deleted"] = True

    def user(self, user_id: str) -> Optional[dict]:
        with self._lock:
            return copy.deepcopy(self._users.get(user_id))

    def _users_info(self, params: dict) -> dict:
        user = self._users.get(params.get("user"))
        if user is None:
            raise SlackApiFailure("user_not_found")
        return {"user": self._user_object(user)}

    def _users_lookup_by_email(self, params: dict) -> dict:
        """Slack answers users_not_found for an unknown email and for a deactivated user's alike."""
        email = str(params.get("email") or "").lower()
        for user in self._users.values():
            if email and (user["email"] or "").lower() == email and not user["deleted"]:
                return {"user": self._user_object(user)}
        raise SlackApiFailure("users_not_found")

    def _user_object(self, user: dict) -> dict:
        try:
            local_now = datetime.now(ZoneInfo(user["tz"]))
            offset = int(local_now.utcoffset().total_seconds())
            abbreviation = local_now.tzname()
        except ZoneInfoNotFoundError:
            offset, abbreviation = 0, "UTC"
        profile = {
            "real_name": user["real_name"],
            "real_name_normalized": user["real_name"],
            "display_name": user["name"],
            "display_name_normalized": user["name"],
            "team": self.team_id,
        }
        if user["is_bot"]:
            profile["bot_id"] = self.bot_id if user["id"] == self.bot_user_id else "B" + user["id"][1:]
        elif user["email"] and "users:read.email" in self.scopes:
            profile["email"] = user["email"]  # Slack shows emails only to apps granted users:read.email
        return {
            "id": user["id"],
            "team_id": self.team_id,
            "name": user["name"],
            "deleted": user["deleted"],
            "real_name": user["real_name"],
            "tz": user["tz"],
            "tz_label": TZ_LABELS.get(abbreviation, abbreviation),
            "tz_offset": offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user["is_bot"],
            "is_app_user": False,
            "updated": 1700000000,
        }
