"""Views: trigger ids, modals (views.open/push/update) and Home tabs (views.publish)."""

import copy
import uuid
from typing import Any, Optional

from .errors import SlackApiFailure, invalid
from .validation import view_errors

# Slack lets a trigger_id be exchanged once, within 3 seconds of the interaction.
TRIGGER_TTL_SECONDS = 3.0


class Views:
    """FakeSlack's views (state: `_views`, `_home_by_user`, `_triggers`; reset() clears)."""

    def views(self, user: Optional[str] = None) -> list[dict]:
        """Latest state of each modal, in opening order: Slack's view object plus view_id and user."""
        with self._lock:
            return [
                self._public_view(view_id)
                for view_id, record in self._views.items()
                if record["view"]["type"] == "modal" and user in (None, record["user"])
            ]

    def home(self, user: str) -> Optional[dict]:
        """The Home tab last published for the user, or None."""
        with self._lock:
            view_id = self._home_by_user.get(user)
            return self._public_view(view_id) if view_id else None

    def new_trigger_id(self, user_id: Optional[str] = None, ttl: float = TRIGGER_TTL_SECONDS) -> str:
        """Issue a trigger_id the way an interaction would; views.* accept it once within ``ttl`` (workspace clock)."""
        with self._lock:
            now = self.clock()
            trigger_id = f"{int(now)}.{next(self._trigger_ids)}.{uuid.uuid4().hex}"
            self._triggers[trigger_id] = {"user": user_id, "expires": now + ttl, "used": False}
            return trigger_id

    # ----------------------------------------------------------------- helpers (lock held)

    def _checked_trigger(self, params: dict) -> dict:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise invalid("invalid_arguments", ["missing required field: trigger_id"])
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise SlackApiFailure("invalid_trigger_id")
        if trigger["used"]:
            raise SlackApiFailure("exchanged_trigger_id")
        if self.clock() > trigger["expires"]:
            raise SlackApiFailure("expired_trigger_id")
        return trigger

    @staticmethod
    def _checked_view(view: Any, allowed_types: set[str]) -> dict:
        problems = view_errors(view, allowed_types)
        if problems:
            raise invalid("invalid_arguments", problems)
        return view

    def _check_external_id(self, view: dict, own_view_id: Optional[str] = None) -> None:
        external_id = view.get("external_id")
        if not external_id:
            return
        for view_id, record in self._views.items():
            if view_id != own_view_id and record["view"]["external_id"] == external_id:
                raise SlackApiFailure("duplicate_external_id")

    def _render_view(self, view: dict, view_id: str, root_view_id: str, previous_view_id: Optional[str]) -> dict:
        """The view object Slack returns and later echoes in interaction payloads."""
        rendered = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{self.clock():.6f}.{uuid.uuid4().hex[:8]}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id,
            "previous_view_id": previous_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        for key in ("title", "submit", "close"):
            if key in view:
                rendered[key] = copy.deepcopy(view[key])
        return rendered

    def _public_view(self, view_id: str) -> dict:
        record = self._views[view_id]
        return {**copy.deepcopy(record["view"]), "view_id": view_id, "user": record["user"]}

    def _new_view_id(self) -> str:
        return f"V{next(self._view_ids):08d}"

    # ----------------------------------------------------------------- Web API methods

    def _views_open(self, params: dict) -> dict:
        trigger = self._checked_trigger(params)
        view = self._checked_view(params.get("view"), {"modal"})
        self._check_external_id(view)
        view_id = self._new_view_id()
        rendered = self._render_view(view, view_id, root_view_id=view_id, previous_view_id=None)
        self._views[view_id] = {"user": trigger["user"], "view": rendered}
        trigger["used"] = True
        return {"view": copy.deepcopy(rendered)}

    def _views_push(self, params: dict) -> dict:
        trigger = self._checked_trigger(params)
        view = self._checked_view(params.get("view"), {"modal"})
        self._check_external_id(view)
        user_modals = [
            record["view"]
            for record in self._views.values()
            if record["user"] == trigger["user"] and record["view"]["type"] == "modal"
        ]
        previous = user_modals[-1] if user_modals else None
        view_id = self._new_view_id()
        root_view_id = previous["root_view_id"] if previous else view_id
        rendered = self._render_view(view, view_id, root_view_id, previous["id"] if previous else None)
        self._views[view_id] = {"user": trigger["user"], "view": rendered}
        trigger["used"] = True
        return {"view": copy.deepcopy(rendered)}

    def _views_update(self, params: dict) -> dict:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (vid for vid, rec in self._views.items() if rec["view"]["external_id"] == params["external_id"]),
                None,
            )
        if not view_id and not params.get("external_id"):
            raise invalid("invalid_arguments", ["either view_id or external_id is required"])
        record = self._views.get(view_id)
        if record is None:
            raise SlackApiFailure("not_found")
        current = record["view"]
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackApiFailure("hash_conflict")
        view = self._checked_view(params.get("view"), {current["type"]})
        self._check_external_id(view, own_view_id=view_id)
        # An update without external_id keeps the view addressable by its old one.
        view = {"external_id": current["external_id"], **view}
        record["view"] = self._render_view(view, view_id, current["root_view_id"], current["previous_view_id"])
        return {"view": copy.deepcopy(record["view"])}

    def _views_publish(self, params: dict) -> dict:
        user_id = params.get("user_id")
        if user_id not in self._users:
            raise invalid("invalid_arguments", ["invalid `user_id`"])
        view = self._checked_view(params.get("view"), {"home"})
        view_id = self._home_by_user.get(user_id)
        if view_id and params.get("hash") and params["hash"] != self._views[view_id]["view"]["hash"]:
            raise SlackApiFailure("hash_conflict")
        self._check_external_id(view, own_view_id=view_id)
        view_id = view_id or self._new_view_id()
        rendered = self._render_view(view, view_id, root_view_id=view_id, previous_view_id=None)
        self._views[view_id] = {"user": user_id, "view": rendered}
        self._home_by_user[user_id] = view_id
        return {"view": copy.deepcopy(rendered)}
