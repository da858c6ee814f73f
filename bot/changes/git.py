"""Commits from a product's repository: a local path is read in place, a URL through a mirror.

The first candidate of a product has no released candidate to start from; it holds the
branch's commits of the FIRST_WINDOW before the cut, so adopting
the bot does not put a repository's whole history into one candidate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
from pathlib import Path

from bot.release.model import Commit

FIRST_WINDOW = dt.timedelta(days=7)
GIT_TIMEOUT = 120
FIELD, RECORD = "\x1f", "\x1e"


class RepositoryError(Exception):
    """The repository or branch could not be read; the message says why, in plain words."""


def _git(args: list[str], cwd: str | None = None, timeout: float = GIT_TIMEOUT) -> str:
    """Output decoded as UTF-8; bytes that are not (a latin-1 subject without an encoding header)
    become replacement characters instead of failing the cut."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except subprocess.TimeoutExpired:
        raise RepositoryError(f"git {args[0]} took longer than {timeout:g}s") from None
    if result.returncode != 0:
        raise RepositoryError(_reason(result.stderr) or f"git {args[0]} failed")
    return result.stdout


def _reason(stderr: str) -> str | None:
    """git's first fatal line says what went wrong; the lines after it are advice."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = next((line for line in lines if line.startswith("fatal: ")), None)
    return fatal.removeprefix("fatal: ") if fatal else (lines[-1] if lines else None)


def _is_local(repository: str) -> bool:
    return "://" not in repository and not repository.startswith("git@")


def cache_dir() -> Path:
    return Path(os.environ.get("RELEASEBOT_GIT_CACHE", Path.home() / ".cache" / "releasebot" / "git"))


def _git_dir(repository: str) -> str:
    """Where to read: the local repository itself, or a fetched mirror of a remote one."""
    if _is_local(repository):
        if not Path(repository).exists():
            raise RepositoryError(f"repository {repository} does not exist")
        return repository
    mirror = cache_dir() / hashlib.sha256(repository.encode()).hexdigest()[:16]
    if (mirror / "HEAD").exists():
        _git(["--git-dir", str(mirror), "fetch", "--prune", "origin"])
    else:
        mirror.parent.mkdir(parents=True, exist_ok=True)
        _git(["clone", "--mirror", "--quiet", repository, str(mirror)])
    return str(mirror)


def local_problem(repository: str) -> str | None:
    """What is wrong with a local repository path, found without the network; None for URLs."""
    if not _is_local(repository):
        return None
    path = Path(repository)
    if not path.exists():
        return f"repository {repository} does not exist"
    if not (path / ".git").exists() and not (path / "HEAD").exists():
        return f"{repository} is not a git repository"
    return None


def check_branch(repository: str, branch: str, timeout: float = 30) -> None:
    """Raise RepositoryError unless the repository answers and has the branch. A URL is asked with
    `git ls-remote`, so nothing is fetched; a local path is read in place."""
    if _is_local(repository):
        problem = local_problem(repository)
        if problem:
            raise RepositoryError(problem)
        try:
            _git(["--git-dir", _dot_git(repository), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"])
        except RepositoryError:
            raise RepositoryError(f"repository {repository} has no branch {branch}") from None
        return
    try:
        heads = _git(["ls-remote", "--heads", repository, f"refs/heads/{branch}"], timeout=timeout)
    except RepositoryError as exc:
        raise RepositoryError(f"cannot read repository {repository} ({exc})") from None
    if not heads.strip():
        raise RepositoryError(f"repository {repository} has no branch {branch}")


def _dot_git(path: str) -> str:
    dot = Path(path) / ".git"
    return str(dot) if dot.exists() else path


def commits_since(repository: str, branch: str, base_sha: str | None, now: dt.datetime) -> tuple[str, list[Commit]]:
    """(head sha, commits after base oldest first); without a base, those of the FIRST_WINDOW."""
    git_dir = _dot_git(_git_dir(repository))
    head = _git(["--git-dir", git_dir, "rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}"]).strip()
    log = ["--git-dir", git_dir, "log", "--reverse", "--no-merges", f"--format=%H{FIELD}%ae{FIELD}%an{FIELD}%ct{FIELD}%s{RECORD}"]
    if base_sha and _is_ancestor(git_dir, base_sha, head):
        output = _git([*log, f"{base_sha}..{head}"])
    else:
        output = _git([*log, f"--since={int((now - FIRST_WINDOW).timestamp())}", head])
    return head, [_parse(record) for record in output.split(RECORD) if record.strip()]


def _is_ancestor(git_dir: str, base: str, head: str) -> bool:
    result = subprocess.run(
        ["git", "--git-dir", git_dir, "merge-base", "--is-ancestor", base, head], capture_output=True, timeout=GIT_TIMEOUT
    )
    return result.returncode == 0


def _parse(record: str) -> Commit:
    """NUL characters, which git allows and PostgreSQL refuses in text, are dropped."""
    sha, email, name, timestamp, subject = record.strip("\n").replace("\x00", "").split(FIELD, 4)
    return Commit(
        sha=sha,
        author_email=email.lower(),
        author_name=name,
        subject=subject,
        committed_at=dt.datetime.fromtimestamp(int(timestamp), dt.timezone.utc),
    )
