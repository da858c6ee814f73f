"""Every state-changing action for every role, allowed or refused exactly as PRODUCT.md says.

Roles on one candidate of `checkout`: an engineer with changes, their delegate, the release
manager, the product admin, a global admin, and anyone else.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from bot.config import Config
from bot.errors import Refused
from bot.flags import service as flag_service
import storage.flags as flag_store
from bot.flags import definitions
from bot.flags.model import FlagType
from bot.release import freezes, releasing, service, signoffs
from bot.release.model import Commit, Trigger
from bot.release.releasing import ReleaseRequest
from bot.release.service import CutRequest
from storage.slack_users import SlackUser
from tests.conftest import BASE_CONFIG

NOW = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.timezone.utc)  # Tuesday 10:00 in New York
ROLES = {
    "engineer": "U0ENG",
    "delegate": "U0DEL",
    "release manager": "U0RM",
    "product admin": "U0LEAD",
    "admin": "U0ADMIN",
    "anyone else": "U0STRANGER",
}
ALLOWED = {
    "verify": {"engineer", "delegate", "release manager"},
    "declare non-viable": {"engineer", "release manager", "product admin", "admin"},
    "hand over": {"release manager", "product admin", "admin"},
    "release a ready candidate": {"release manager", "product admin", "admin"},
    # nobody pushes unverified changes alone: a reason and a product admin or admin
    "release with pending verifications": {"product admin", "admin"},
    "freeze the product": {"product admin", "admin"},
    "freeze all products": {"admin"},
    # in a protected environment every change waits for someone else, owners and admins included
    "change a protected flag at once": set(),
    "turn a protected flag off": set(ROLES),
    "approve a flag request": {"engineer", "product admin", "admin"},  # engineer owns the flag
    "approve the owner's flag request": {"product admin", "admin"},  # never one's own
}


def person(user: str) -> SlackUser:
    return SlackUser(user, user, None, "America/New_York", False, False)


@pytest.fixture
def world(db):
    config = Config.model_validate(BASE_CONFIG)
    product = config.product("checkout")
    commits = [
        Commit("a" * 40, "eng@example.com", "Eng", "Engineer's change", NOW),
        Commit("b" * 40, "rm@example.com", "Rm", "Manager's change", NOW),
    ]
    authors = {"eng@example.com": "U0ENG", "rm@example.com": "U0RM"}
    people = {user: person(user) for user in authors.values()}
    request = CutRequest(product=product, trigger=Trigger.MANUAL, actor="U0RM")
    cut = service.record_cut(db, config, request, "b" * 40, None, commits, authors, people, NOW, random.Random(1))
    signoffs.delegate(db, config, cut.candidate.id, "U0ENG", person("U0DEL"), NOW)
    flag_service.create(db, config, "checkout-v2", FlagType.RELEASE, "", "U0ENG", "checkout", NOW)
    return config, product, cut.candidate.id


def attempt(db, world, action: str, user: str) -> bool:
    config, product, candidate_id = world
    try:
        if action == "verify":
            signoffs.verify(db, config, candidate_id, user, NOW)
        elif action == "declare non-viable":
            signoffs.declare_nonviable(db, config, candidate_id, user, "broken", None, NOW)
        elif action == "hand over":
            signoffs.hand_over(db, config, product, user, person("U0NEW"), NOW)
        elif action.startswith("release"):
            if action == "release a ready candidate":
                signoffs.verify(db, config, candidate_id, "U0DEL", NOW)
                signoffs.verify(db, config, candidate_id, "U0RM", NOW)
            candidate = releasing.check_release(db, config, ReleaseRequest(product, user, pending_reason="tested"), NOW)
            releasing.record_release(db, config, ReleaseRequest(product, user, pending_reason="tested"), candidate.id, NOW)
        elif action == "freeze the product":
            freezes.start(db, config, "checkout", NOW + dt.timedelta(days=1), "peak", user, NOW)
        elif action == "freeze all products":
            freezes.start(db, config, "all", NOW + dt.timedelta(days=1), "peak", user, NOW)
        elif action == "change a protected flag at once":
            outcome = flag_service.change(db, config, "checkout-v2", "production", {"op": "on"}, user, NOW)
            return outcome.request_id is None
        elif action == "turn a protected flag off":
            flag_service.change(db, config, "checkout-v2", "production", {"op": "rollout", "percent": 5}, "U0ENG", NOW)
            with db.transaction() as session:  # on, as an approval would have left it
                flag_store.set_definition(
                    session, "checkout-v2", "production", definitions.apply(definitions.initial(None), {"op": "on"}), "U0ADMIN", NOW
                )
            outcome = flag_service.change(db, config, "checkout-v2", "production", {"op": "off"}, user, NOW)
            return outcome.request_id is None and flag_service.get(db, "checkout-v2").definition("production")["defaultVariant"] == "off"
        elif action.startswith("approve"):
            requester = "U0ENG" if action == "approve the owner's flag request" else "U0STRANGER"
            pending = flag_service.change(db, config, "checkout-v2", "production", {"op": "on"}, requester, NOW)
            flag_service.decide(db, config, pending.request_id, True, user, NOW)
        else:
            raise AssertionError(action)
    except Refused:
        return False
    return True


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_may_do_exactly_what_the_product_allows(db, world, action, role):
    assert attempt(db, world, action, ROLES[role]) is (role in ALLOWED[action]), f"{role} {action}"
