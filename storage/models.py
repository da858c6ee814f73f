"""Tables. Times are stored in UTC and come back timezone-aware on every database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, TypeDecorator, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.limits import EMAIL, ENVIRONMENT, PRODUCT_KEY


class UTCDateTime(TypeDecorator):
    """SQLite forgets time zones; store UTC and hand back aware datetimes everywhere."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime}


class SlackEvent(Base):
    """An Events API delivery already handled; Slack redelivers, we act once."""

    __tablename__ = "slack_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime]


class SlackSignedRequest(Base):
    """A signed HTTP request from Slack already handled: the same signature again is a replay."""

    __tablename__ = "slack_signed_requests"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(index=True)


class JobRun(Base):
    """One claimed run of a scheduled job: the unique key makes each run happen once."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "scope", "run_key", name="uq_job_runs_run"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(PRODUCT_KEY))
    run_key: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)


class CandidateRow(Base):
    """A release candidate. At most one per product is in progress, enforced by a partial unique index."""

    __tablename__ = "candidates"
    __table_args__ = (
        Index(
            "uq_candidates_one_in_progress",
            "product",
            unique=True,
            sqlite_where=text("state IN ('verifying', 'ready')"),
            postgresql_where=text("state IN ('verifying', 'ready')"),
        ),
        Index("ix_candidates_product_id", "product", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(String(PRODUCT_KEY))
    version: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    release_manager: Mapped[str] = mapped_column(String(32))
    manager_choice: Mapped[str] = mapped_column(Text, default="")
    head_sha: Mapped[str] = mapped_column(String(64))
    base_sha: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str | None] = mapped_column(String(32))
    urgent_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"))
    nonviable_reason: Mapped[str | None] = mapped_column(Text)
    nonviable_next_steps: Mapped[str | None] = mapped_column(Text)
    nonviable_by: Mapped[str | None] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(default=1)


class ChangeRow(Base):
    """A commit in a candidate and its sign-off; verification is per change so it carries over."""

    __tablename__ = "candidate_changes"
    __table_args__ = (UniqueConstraint("candidate_id", "sha", name="uq_candidate_changes_sha"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    sha: Mapped[str] = mapped_column(String(64))
    author_email: Mapped[str] = mapped_column(Text)  # git allows any length
    author_name: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    engineer: Mapped[str | None] = mapped_column(String(32))
    verified_by: Mapped[str | None] = mapped_column(String(32))
    verified_at: Mapped[dt.datetime | None]
    committed_at: Mapped[dt.datetime | None]  # the commit's date as git records it: lead time starts here


class DelegationRow(Base):
    """An engineer asked a teammate to verify their changes in a candidate."""

    __tablename__ = "delegations"

    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True)
    engineer: Mapped[str] = mapped_column(String(32), primary_key=True)
    delegate: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    away: Mapped[bool] = mapped_column(default=False, server_default=text("false"))  # made at the cut: the engineer was away


class CandidateEventRow(Base):
    """The record of everything that happened to a candidate: who, when, what, why."""

    __tablename__ = "candidate_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class SlackUserRow(Base):
    """Cached Slack profile facts the rules need: time zone, bot, deactivated."""

    __tablename__ = "slack_users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str | None] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)
    fetched_at: Mapped[dt.datetime]


class EmailLookupRow(Base):
    """users.lookupByEmail answers, kept so a cut does not ask Slack once per commit."""

    __tablename__ = "email_lookups"

    email: Mapped[str] = mapped_column(String(EMAIL), primary_key=True)  # longer ones are never looked up
    user_id: Mapped[str | None] = mapped_column(String(32))
    fetched_at: Mapped[dt.datetime]


class OutboxRow(Base):
    """A Slack message the bot owes, written in the transaction of the change that causes it.

    Items of one lane (a candidate's notice and thread, or one person's DMs) are delivered in
    order; a notice item means "show the candidate's current state", so it can never bring an
    older state back.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lane: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    sending_since: Mapped[dt.datetime | None]  # set before a send, cleared when its outcome is known
    delivered_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    set_aside_at: Mapped[dt.datetime | None]  # Slack will not take it until someone fixes something
    target: Mapped[str | None] = mapped_column(String(32))  # the channel or user of a set-aside item


class DeliveryAlertRow(Base):
    """People who can fix a delivery problem were told of it: once per (channel or lane, error)."""

    __tablename__ = "delivery_alerts"

    scope: Mapped[str] = mapped_column(String(96), primary_key=True)
    error: Mapped[str] = mapped_column(String(64), primary_key=True)
    told_at: Mapped[dt.datetime]


class SlackMessageRow(Base):
    """Where a message the bot posted lives, so it can be updated in place and threaded."""

    __tablename__ = "slack_messages"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))


class LeaseRow(Base):
    """A named lease with an expiry: whoever holds it alone does that work (an outbox lane, a release).
    A crashed holder's lease simply runs out."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    token: Mapped[str | None] = mapped_column(String(64))
    held_until: Mapped[dt.datetime | None]


class FreezeRow(Base):
    """A change freeze of one product or of all ("all"); announced once when it starts and once when it ends."""

    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(PRODUCT_KEY))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    ended_by: Mapped[str | None] = mapped_column(String(32))
    end_announced: Mapped[bool] = mapped_column(default=False)


class ReleaseRow(Base):
    """A production release: who, when, what, and why when it went out against the rules."""

    __tablename__ = "releases"
    __table_args__ = (Index("ix_releases_product_id", "product", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), unique=True)
    product: Mapped[str] = mapped_column(String(PRODUCT_KEY))
    version: Mapped[str] = mapped_column(String(64))
    head_sha: Mapped[str] = mapped_column(String(64))
    base_sha: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[dt.datetime]
    released_by: Mapped[str] = mapped_column(String(32))
    release_manager: Mapped[str] = mapped_column(String(32))
    pending_reason: Mapped[str | None] = mapped_column(Text)
    exception: Mapped[str | None] = mapped_column(String(32))
    exception_note: Mapped[str | None] = mapped_column(Text)


class FlagRow(Base):
    __tablename__ = "flags"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(32))
    product: Mapped[str | None] = mapped_column(String(PRODUCT_KEY))  # its freezes apply to the flag
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    archived_at: Mapped[dt.datetime | None]
    variants: Mapped[dict | None] = mapped_column(JSON)  # None: boolean on/off


class FlagStateRow(Base):
    """A flag in one environment: its flagd flag definition; a missing row means serving off."""

    __tablename__ = "flag_states"

    flag_key: Mapped[str] = mapped_column(ForeignKey("flags.key", ondelete="CASCADE"), primary_key=True)
    environment: Mapped[str] = mapped_column(String(ENVIRONMENT), primary_key=True)
    definition: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(32))


class FlagChangeRow(Base):
    """The audit trail: who changed what, where, when, from what to what, why, approved by whom."""

    __tablename__ = "flag_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_key: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str | None] = mapped_column(String(ENVIRONMENT))
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    approver: Mapped[str | None] = mapped_column(String(32))


class FlagRequestRow(Base):
    """A change to a protected environment waiting for the owner's (or an admin's) approval."""

    __tablename__ = "flag_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_key: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str] = mapped_column(String(ENVIRONMENT))
    action: Mapped[str] = mapped_column(String(32))
    after: Mapped[dict] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[dt.datetime | None]


class FlagVersionRow(Base):
    """One row whose number goes up with every flag change: every process compares it before
    answering from its cache, so a kill switch is seen by the very next evaluation anywhere."""

    __tablename__ = "flag_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)


class AwayRow(Base):
    """A person away until `until`, per person (not per product); `delegate` verifies for them."""

    __tablename__ = "people_away"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    until: Mapped[dt.datetime]
    delegate: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]


class ReminderRow(Base):
    """A reminder sent (or being sent through the outbox): one per kind, candidate, person and day,
    inserted in the transaction that owes the message, so replicas never send it twice."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("kind", "candidate_id", "user_id", "day", name="uq_reminders_sent_claim"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))  # "" for a message in the candidate's thread
    day: Mapped[str] = mapped_column(String(16))  # the local day it belongs to, "" when once per candidate
    sent_at: Mapped[dt.datetime]


class RolloutPlanRow(Base):
    """A rollout plan: a copy of its template taken at creation, so editing the configuration never
    changes a running plan. `state` and `stage` are what its events last said (for listing);
    `checks` holds the latest check results, the facts bakes and advances are judged on."""

    __tablename__ = "rollout_plans"
    __table_args__ = (Index("ix_rollout_plans_flag", "flag_key", "environment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_key: Mapped[str] = mapped_column(ForeignKey("flags.key", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(ENVIRONMENT))
    template_name: Mapped[str] = mapped_column(String(32))
    template: Mapped[dict] = mapped_column(JSON)
    owner: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(String(24), index=True)
    stage: Mapped[int] = mapped_column(default=-1)
    events_count: Mapped[int] = mapped_column(default=0)
    checks: Mapped[list | None] = mapped_column(JSON)
    checked_at: Mapped[dt.datetime | None]


class RolloutEventRow(Base):
    """A fact of a plan. (plan, seq) is unique: a replica that read the plan before another moved
    it fails to record the same transition, so each transition happens once."""

    __tablename__ = "rollout_events"
    __table_args__ = (UniqueConstraint("plan_id", "seq", name="uq_rollout_events_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rollout_plans.id", ondelete="CASCADE"))
    seq: Mapped[int]
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
