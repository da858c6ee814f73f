"""People as Slack knows them, cached in the database so a cut asks Slack once per person, not per commit.

Commit authors are matched through the configuration's `people` first, then users.lookupByEmail,
paced by the runtime's `lookup_pacer` (Tier 3); a 429 that outlasts the client's own retries
pauses every look-up for its Retry-After and is tried again, at most LOOKUP_TRIES times.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from slack_sdk.errors import SlackApiError

import storage.slack_users as cache
from bot.runtime import Runtime
from storage.limits import EMAIL
from storage.slack_users import SlackUser

FRESH_FOR = dt.timedelta(days=7)  # a user_change event refreshes a cached person at once
LOOKUP_CONCURRENCY = 8
LOOKUP_TRIES = 3


def from_slack(user: dict) -> SlackUser:
    profile = user.get("profile", {})
    return SlackUser(
        user_id=user["id"],
        name=user.get("real_name") or profile.get("real_name") or user.get("name", ""),
        email=(profile.get("email") or "").lower() or None,
        timezone=user.get("tz"),
        is_bot=bool(user.get("is_bot")) or user["id"] == "USLACKBOT",
        deleted=bool(user.get("deleted")),
    )


class SlackDirectory:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self._limit = asyncio.Semaphore(LOOKUP_CONCURRENCY)

    def _fresh_since(self) -> dt.datetime:
        return self.runtime.clock.now() - FRESH_FOR

    async def people(self, user_ids: list[str]) -> dict[str, SlackUser]:
        known = await asyncio.to_thread(self._cached_users, user_ids)
        missing = [user for user in user_ids if user not in known]
        fetched = await asyncio.gather(*(self._fetch_user(user) for user in missing))
        found = {user.user_id: user for user in fetched if user is not None}
        if found:
            await asyncio.to_thread(self._remember_users, list(found.values()))
        return {**known, **found}

    async def refresh(self, user: dict) -> None:
        """Slack told us a profile changed (time zone, deactivation): keep the cache true."""
        await asyncio.to_thread(self._remember_users, [from_slack(user)])

    async def person(self, user_id: str) -> SlackUser | None:
        return (await self.people([user_id])).get(user_id)

    async def users_for_emails(self, emails: list[str]) -> dict[str, str | None]:
        configured = self.runtime.config.people_by_email
        matched = {email: configured[email] for email in emails if email in configured}
        # an address longer than any email (git allows one) matches nobody; it is not asked nor cached
        matched |= {email: None for email in emails if email not in matched and len(email) > EMAIL}
        rest = [email for email in emails if email not in matched]
        cached = await asyncio.to_thread(self._cached_emails, rest)
        unknown = [email for email in rest if email not in cached]
        looked_up = await asyncio.gather(*(self._lookup(email) for email in unknown))
        users = [user for user in looked_up if user is not None]
        answers = dict(zip(unknown, [user.user_id if user else None for user in looked_up]))
        if unknown:
            await asyncio.to_thread(self._remember_emails, answers, users)
        return {**matched, **cached, **answers}

    async def _fetch_user(self, user_id: str) -> SlackUser | None:
        async with self._limit:
            try:
                response = await self.runtime.slack.users_info(user=user_id)
            except SlackApiError as exc:
                if exc.response.get("error") == "user_not_found":
                    return None
                raise
        return from_slack(response["user"])

    async def _lookup(self, email: str) -> SlackUser | None:
        pacer, attempt = self.runtime.lookup_pacer, 1
        while True:
            await pacer.wait()
            async with self._limit:
                try:
                    response = await self.runtime.slack.users_lookupByEmail(email=email)
                except SlackApiError as exc:
                    if exc.response.get("error") == "users_not_found":
                        return None
                    if exc.response.status_code != 429 or attempt == LOOKUP_TRIES:
                        raise
                    pacer.pause(_retry_after(exc))
                    attempt += 1
                    continue
            return from_slack(response["user"])

    def _cached_users(self, user_ids: list[str]) -> dict[str, SlackUser]:
        with self.runtime.db.reading() as session:
            return cache.users(session, user_ids, self._fresh_since())

    def _cached_emails(self, emails: list[str]) -> dict[str, str | None]:
        with self.runtime.db.reading() as session:
            return cache.email_lookups(session, emails, self._fresh_since())

    def _remember_users(self, users: list[SlackUser]) -> None:
        now = self.runtime.clock.now()
        with self.runtime.db.transaction() as session:
            for user in users:
                cache.remember_user(session, user, now)

    def _remember_emails(self, answers: dict[str, str | None], users: list[SlackUser]) -> None:
        now = self.runtime.clock.now()
        with self.runtime.db.transaction() as session:
            for email, user_id in answers.items():
                cache.remember_email(session, email, user_id, now)
            for user in users:
                cache.remember_user(session, user, now)


def _retry_after(exc: SlackApiError) -> float:
    value = exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", "1"))
    return float(value) if str(value).replace(".", "", 1).isdigit() else 1.0
