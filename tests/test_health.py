"""Health and the API without a token, on a bot whose database stops answering."""

from __future__ import annotations

import httpx

from storage import Database
from tests.conftest import make_runtime
from tests.harness import start_bot


def test_healthz_is_503_while_the_database_is_unreachable(fake_slack, config, clock):
    unreachable = Database("postgresql+psycopg://postgres@127.0.0.1:1/releasebot")
    running = start_bot(make_runtime(unreachable, fake_slack, config, clock))
    try:
        response = httpx.get(running.url + "/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "database unreachable"}
    finally:
        running.stop()


def test_the_api_is_closed_when_no_token_is_configured(db, fake_slack, config, clock):
    running = start_bot(make_runtime(db, fake_slack, config, clock, api_token=None))
    try:
        for header in ({}, {"Authorization": "Basic eDp5"}, {"Authorization": "Bearer anything"}):
            assert httpx.get(running.url + "/api/v1/products", headers=header).status_code == 401
    finally:
        running.stop()
