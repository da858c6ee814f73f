"""Storage on SQLite and PostgreSQL: migrations, once-only claims, times in UTC."""

from __future__ import annotations

import datetime as dt
import threading

import storage.jobs
import storage.slack_events
from storage import Database
from storage.models import JobRun

NOW = dt.datetime(2026, 11, 17, 14, 0, tzinfo=dt.timezone.utc)


def test_migrations_bring_an_empty_database_to_head(database_url):
    database = Database(database_url)
    assert database.schema_state().current is None
    database.upgrade()
    state = database.schema_state()
    assert state.up_to_date and state.current == state.head
    database.upgrade()  # a second run is a no-op
    assert database.schema_state().up_to_date
    database.dispose()


def test_an_event_is_claimed_once(db):
    with db.transaction() as session:
        assert storage.slack_events.claim(session, "Ev1", NOW)
        assert not storage.slack_events.claim(session, "Ev1", NOW)
        assert storage.slack_events.claim(session, "Ev2", NOW)
    with db.transaction() as session:
        assert not storage.slack_events.claim(session, "Ev2", NOW)


def test_old_event_ids_are_forgotten(db):
    with db.transaction() as session:
        storage.slack_events.claim(session, "old", NOW - dt.timedelta(hours=3))
        storage.slack_events.claim(session, "new", NOW)
    with db.transaction() as session:
        assert storage.slack_events.forget_older_than(session, NOW - dt.timedelta(hours=2)) == 1
        assert storage.slack_events.claim(session, "old", NOW)
        assert not storage.slack_events.claim(session, "new", NOW)


def test_concurrent_claims_of_one_job_run_let_exactly_one_win(db):
    winners: list[int] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        with db.transaction() as session:
            run_id = storage.jobs.claim(session, "daily-candidates", "checkout", "2026-11-17", NOW)
        if run_id is not None:
            winners.append(run_id)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    with db.reading() as session:
        assert storage.jobs.is_claimed(session, "daily-candidates", "checkout", "2026-11-17")
        assert not storage.jobs.is_claimed(session, "daily-candidates", "search", "2026-11-17")


def test_times_come_back_aware_and_in_utc(db):
    berlin = dt.timezone(dt.timedelta(hours=1))
    with db.transaction() as session:
        run_id = storage.jobs.claim(session, "job", "*", "k", NOW.astimezone(berlin))
        storage.jobs.finish(session, run_id, NOW + dt.timedelta(minutes=1), "ok")
    with db.reading() as session:
        run = session.get(JobRun, run_id)
        assert run.started_at == NOW and run.started_at.utcoffset() == dt.timedelta(0)
        assert run.finished_at == NOW + dt.timedelta(minutes=1)
        assert run.outcome == "ok"


def test_ping_tells_a_reachable_database_from_an_unreachable_one(db):
    assert db.ping()
    assert not Database("postgresql+psycopg://postgres@127.0.0.1:1/nothing").ping()


def test_the_migrated_schema_matches_the_models(db):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.models import Base

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_authors_and_profile_names_of_any_length_are_stored_whole(db):
    import random

    from bot.config import Config
    from bot.release import service
    from bot.release.model import Commit, Trigger
    from storage.slack_users import SlackUser, remember_user, users
    from tests.conftest import BASE_CONFIG

    config = Config.model_validate(BASE_CONFIG)
    name, email = "N" * 700, "e" * 600 + "@example.com"
    request = service.CutRequest(product=config.product("checkout"), trigger=Trigger.MANUAL, actor="U0RM")
    commit = Commit("a" * 40, email, name, "S" * 10_000, NOW)
    cut = service.record_cut(db, config, request, "a" * 40, None, [commit], {email: None}, {}, NOW, random.Random(1))
    [change] = service.get(db, cut.candidate.id).changes
    assert (change.author_name, change.author_email, change.subject) == (name, email, "S" * 10_000)
    with db.transaction() as session:
        remember_user(session, SlackUser("U0LONG", name, email, "America/New_York", False, False), NOW)
    with db.reading() as session:
        assert users(session, ["U0LONG"], NOW)["U0LONG"].name == name
