"""Reading commits from real repositories: local paths in place, URLs through a fetched mirror."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.changes.git import RepositoryError, commits_since
from tests.gitrepo import GitRepo

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 17, 14, 0, tzinfo=UTC)


def test_the_first_read_holds_the_last_seven_days_and_later_reads_start_after_the_base(tmp_path):
    repo = GitRepo(tmp_path / "repo")
    repo.commit("Ancient", "old@example.com", when=NOW - dt.timedelta(days=30))
    first = repo.commit("Recent", "Dana@Example.com", "Dana", when=NOW - dt.timedelta(days=1))
    head, commits = commits_since(str(repo.path), "main", None, NOW)
    assert head == first
    assert [(c.subject, c.author_email, c.author_name) for c in commits] == [("Recent", "dana@example.com", "Dana")]
    newer = repo.commit("Newer", "lee@example.com", when=NOW)
    head, commits = commits_since(str(repo.path), "main", first, NOW)
    assert head == newer and [c.sha for c in commits] == [newer]


def test_a_url_is_fetched_into_a_mirror_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("RELEASEBOT_GIT_CACHE", str(tmp_path / "cache"))
    upstream = GitRepo(tmp_path / "upstream")
    upstream.commit("One", "dana@example.com", when=NOW)
    url = f"file://{upstream.path}"
    head, commits = commits_since(url, "main", None, NOW)
    assert [c.subject for c in commits] == ["One"]
    upstream.commit("Two", "dana@example.com", when=NOW)
    head2, commits = commits_since(url, "main", head, NOW)
    assert [c.subject for c in commits] == ["Two"] and head2 == upstream.head()
    assert any((tmp_path / "cache").iterdir())


def test_a_missing_repository_or_branch_is_a_plain_error(tmp_path):
    with pytest.raises(RepositoryError, match="does not exist"):
        commits_since(str(tmp_path / "nowhere"), "main", None, NOW)
    repo = GitRepo(tmp_path / "repo")
    repo.commit("One", "dana@example.com", when=NOW)
    with pytest.raises(RepositoryError):
        commits_since(str(repo.path), "release", None, NOW)


def test_a_subject_that_is_not_utf8_is_read_with_replacement_characters(tmp_path):
    repo = GitRepo(tmp_path / "repo")
    repo.commit("Caf\u00e9 menu".encode("latin-1"), "dana@example.com", when=NOW)  # no encoding header: raw bytes
    repo.commit("Cr\u00e8me br\u00fbl\u00e9e", "lee@example.com", when=NOW, encoding="latin1")  # recorded as latin-1
    _, commits = commits_since(str(repo.path), "main", None, NOW)
    assert [c.subject for c in commits] == ["Caf\ufffd menu", "Cr\u00e8me br\u00fbl\u00e9e"]


def test_author_names_emails_and_subjects_of_any_length_are_read_whole(tmp_path):
    repo = GitRepo(tmp_path / "repo")
    name, email = "N" * 500, "a" * 400 + "@example.com"
    repo.commit("S" * 5000, email, name, when=NOW)
    _, [commit] = commits_since(str(repo.path), "main", None, NOW)
    assert (commit.author_name, commit.author_email, commit.subject) == (name, email, "S" * 5000)


def test_a_nul_character_in_a_commit_never_reaches_the_candidate(tmp_path):
    repo = GitRepo(tmp_path / "repo")
    repo.commit(b"Fix\x00 the total", "dana@example.com", when=NOW)
    _, [commit] = commits_since(str(repo.path), "main", None, NOW)
    assert "\x00" not in commit.subject + commit.author_name + commit.author_email
