"""Flag services: each change is one transaction that saves the state, bumps the version every
process checks before answering, records who/when/what/why, and owes its announcement: the facts
of the event (`{"event": kind, ...values}`), which the Slack layer words and escapes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import storage.flags as store
import storage.freezes as freezes
import storage.outbox as outbox
from bot.config import Config
from bot.errors import Refused
from bot.flags import definitions, rules
from bot.flags.model import KEY, Flag, FlagType
from bot.people.home_facts import flag_deciders
from bot.release.service import mention, owe_home
from storage import Database
from storage.flags import FlagChange, FlagRequest


@dataclass(frozen=True)
class Outcome:
    message: str
    request_id: int | None = None
    state: str | None = None  # the flag's state in the environment once applied
    changed: bool = False


def _announce(session, config: Config, event: dict, now: dt.datetime, request_id: int | None = None) -> None:
    channel = config.flags.channel
    if channel:
        outbox.enqueue(session, f"channel:{channel}", "channel", {**event, "channel": channel, "request_id": request_id}, now)


def _owe_dm(session, user: str, event: dict, now: dt.datetime, request_id: int | None = None) -> None:
    """With a request id the message carries the Approve and Reject buttons."""
    outbox.enqueue(session, f"dm:{user}", "dm", {**event, "user": user, "request_id": request_id}, now)


def _flag(session, key: str, *, lock: bool = False) -> Flag:
    flag = store.get(session, key, lock=lock)
    if flag is None or flag.archived:
        raise Refused("There is no flag `{key}`. `/flag list` shows them.", key=key[:70])
    return flag


def _environment(config: Config, environment: str | None) -> str:
    environment = environment or config.flags.default_environment
    if environment not in config.flags.environments:
        raise Refused(f"There is no environment `{{environment}}`; environments: {', '.join(config.flags.environments)}.", environment=environment[:40])
    return environment


def check_key(key: str) -> None:
    if not KEY.match(key):
        raise Refused("`{key}` is not a flag key: use a-z, 0-9, '.', '_' and '-', starting with a letter or digit, at most 64.", key=key[:70])


def create(
    db: Database, config: Config, key: str, flag_type: FlagType, description: str, actor: str, product: str | None,
    now: dt.datetime, variants: dict | None = None,
) -> Flag:
    """A new flag serving off everywhere; `variants` (name -> value, the first the default) for a
    flag that is not on/off."""
    check_key(key)
    if variants is not None:
        problems = definitions.problems(definitions.initial(variants))
        if problems:
            raise Refused("Those variants cannot make a flag: " + "; ".join(problems) + ".")
    with db.transaction() as session:
        if store.get(session, key) is not None:
            raise Refused(f"A flag `{key}` already exists (archived flags keep their key).")
        flag = Flag(
            key=key, type=flag_type, description=description, owner=actor, product=product, created_by=actor, created_at=now,
            variants=variants,
        )
        store.create(session, flag)
        owe_home(session, actor, now)
        store.bump_version(session)
        recorded = {"type": flag_type.value, "description": description, **({"variants": variants} if variants else {})}
        store.record_change(session, FlagChange(key, None, now, actor, "create", None, recorded, None, None))
        created = {"event": "flag_created", "by": actor, "type": flag_type.value, "key": key, "description": description}
        if variants:
            created["variants"] = list(variants)
        _announce(session, config, created, now)
        return flag


def change(db: Database, config: Config, key: str, environment: str | None, operation: dict, actor: str, now: dt.datetime) -> Outcome:
    environment = _environment(config, environment)
    with db.transaction() as session:
        flag = _flag(session, key, lock=True)
        _edited(flag.definition(environment), operation)  # refused now, not after an approval
        protected = environment in config.flags.protected
        if protected and not rules.is_kill_switch(operation) and _frozen(session, flag, now):
            raise Refused(f"A change freeze is in force for `{key}`; in {environment} only turning it off is allowed.")
        if rules.needs_approval(config, environment, operation):
            return _request(session, config, flag, environment, operation, actor, now)
        return _apply(session, config, flag, environment, operation, actor, now, approver=None)


def _frozen(session, flag: Flag, now: dt.datetime) -> bool:
    """A freeze of the flag's product, or of all products (the only kind a flag without a product has)."""
    return any(f.covers(flag.product or "", now) for f in freezes.active_or_future(session, now))


def _edited(definition: dict, operation: dict) -> dict:
    try:
        return definitions.apply(definition, operation)
    except definitions.EditRefused as refused:
        raise Refused("That change does not fit this flag: {why}.", why=str(refused)) from None


def _apply(session, config: Config, flag: Flag, environment: str, operation: dict, actor: str, now, approver: str | None) -> Outcome:
    before = flag.definition(environment)
    after = _edited(before, operation)
    if after == before:
        said = definitions.describe(before)
        return Outcome(f"`{flag.key}` in {environment} is already {said}; nothing changed.", state=said)
    store.set_definition(session, flag.key, environment, after, actor, now)
    owe_home(session, flag.owner, now)
    store.bump_version(session)
    change = definitions.describe_operation(operation)
    store.record_change(session, FlagChange(flag.key, environment, now, actor, operation["op"], before, after, change, approver))
    changed = {
        "event": "flag_changed", "key": flag.key, "environment": environment,
        "state": definitions.describe(after), "before": definitions.describe(before), "by": actor, "approver": approver,
    }
    _announce(session, config, changed, now)
    return Outcome(f"`{flag.key}` in {environment} is now {definitions.describe(after)}.", state=definitions.describe(after), changed=True)


def _request(session, config: Config, flag: Flag, environment: str, operation: dict, actor: str, now) -> Outcome:
    request_id = store.add_request(session, flag.key, environment, operation["op"], operation, actor, now)
    owe_home(session, flag_deciders(config, flag) - {actor}, now)
    asked = {
        "event": "flag_request", "by": actor, "change": definitions.describe_operation(operation), "key": flag.key,
        "environment": environment, "owner": flag.owner, "description": flag.description,
    }
    if config.flags.channel:
        _announce(session, config, asked, now, request_id)
    else:
        _owe_dm(session, flag.owner, asked, now, request_id)
    return Outcome(f"{environment} is protected, so your change waits for the approval of {mention(flag.owner)} or an admin.", request_id)


def decide(db: Database, config: Config, request_id: int, approve: bool, actor: str, now: dt.datetime) -> FlagRequest:
    """Approve or reject once, however many clicks arrive."""
    with db.transaction() as session:
        request = store.get_request(session, request_id)
        if request is None:
            raise Refused("That approval request does not exist.")
        flag = _flag(session, request.flag_key, lock=True)
        if not rules.may_administer(config, flag, actor):
            raise Refused(f"Only the owner of `{flag.key}`, {mention(flag.owner)}, or an admin can decide this request.")
        if actor == request.requested_by:
            raise Refused("You cannot approve or reject your own request.")
        if not store.decide_request(session, request_id, "approved" if approve else "rejected", actor, now):
            request = store.get_request(session, request_id)
            raise Refused(f"This request was already {request.state} by {mention(request.decided_by)}.")
        owe_home(session, flag_deciders(config, flag) - {request.requested_by}, now)
        operation = dict(request.after)
        if approve:
            if _frozen(session, flag, now) and not rules.is_kill_switch(operation):
                raise Refused(f"A change freeze is in force for `{flag.key}`; the change cannot be applied now.")
            if store.turned_off_since(session, flag.key, request.environment, request.created_at):
                raise Refused(
                    f"`{flag.key}` was turned off in {request.environment} after this request; an approval must not "
                    f"undo a kill switch. {mention(request.requested_by)} can ask again."
                )
            outcome = _apply(session, config, flag, request.environment, operation, request.requested_by, now, approver=actor)
            approved = {
                "event": "flag_approved", "by": actor, "key": flag.key, "environment": request.environment,
                "state": outcome.state, "changed": outcome.changed,
            }
            _owe_dm(session, request.requested_by, approved, now)
            return request
        store.record_change(
            session, FlagChange(flag.key, request.environment, now, actor, "reject", None, None, definitions.describe_operation(operation), None)
        )
        rejected = {
            "event": "flag_rejected", "by": actor, "change": definitions.describe_operation(operation),
            "key": flag.key, "environment": request.environment,
        }
        _owe_dm(session, request.requested_by, rejected, now)
        return request


def set_owner(db: Database, config: Config, key: str, new_owner: str, actor: str, now: dt.datetime) -> str:
    with db.transaction() as session:
        flag = _flag(session, key, lock=True)
        if not rules.may_administer(config, flag, actor):
            raise Refused(f"Only the owner of `{key}`, {mention(flag.owner)}, or an admin can hand it over.")
        store.set_owner(session, key, new_owner)
        owe_home(session, {flag.owner, new_owner}, now)
        store.record_change(session, FlagChange(key, None, now, actor, "owner", {"owner": flag.owner}, {"owner": new_owner}, None, None))
        _announce(session, config, {"event": "flag_owner", "key": key, "owner": new_owner, "previous": flag.owner, "by": actor}, now)
        return f"{mention(new_owner)} now owns `{key}`."


def archive(db: Database, config: Config, key: str, actor: str, now: dt.datetime) -> str:
    with db.transaction() as session:
        flag = _flag(session, key, lock=True)
        if not rules.may_administer(config, flag, actor):
            raise Refused(f"Only the owner of `{key}`, {mention(flag.owner)}, or an admin can archive it.")
        store.archive(session, key, now)
        owe_home(session, flag.owner, now)
        store.bump_version(session)
        store.record_change(session, FlagChange(key, None, now, actor, "archive", None, None, None, None))
        _announce(session, config, {"event": "flag_archived", "by": actor, "key": key}, now)
        return f"`{key}` is archived; evaluations now answer FLAG_NOT_FOUND."


def get(db: Database, key: str) -> Flag:
    with db.reading() as session:
        return _flag(session, key)


def all_flags(db: Database) -> list[Flag]:
    with db.reading() as session:
        return [flag for flag in store.all_flags(session) if not flag.archived]


def history(db: Database, key: str) -> tuple[Flag, list[FlagChange]]:
    with db.reading() as session:
        flag = store.get(session, key)
        if flag is None:
            raise Refused("There is no flag `{key}`.", key=key[:70])
        return flag, store.changes(session, key, 20)
