"""Real git repositories in a temp dir, with commits by chosen authors at chosen times."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path


class GitRepo:
    def __init__(self, path: Path, branch: str = "main"):
        self.path = path
        self.branch = branch
        path.mkdir(parents=True, exist_ok=True)
        self._git("init", "-q", "-b", branch)
        self._count = 0

    def _git(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.path, check=check, capture_output=True, text=True, errors="replace",
            env={**os.environ, **(env or {})},
        ).stdout

    def commit(
        self, subject: str | bytes, email: str, name: str | None = None, *, when: dt.datetime, encoding: str | None = None
    ) -> str:
        """`when` is required: a test dates its commits from its own clock, never from today.

        A bytes subject is stored as given (git records no encoding for it); `encoding` records one."""
        self._count += 1
        (self.path / f"change-{self._count}.txt").write_bytes(subject if isinstance(subject, bytes) else subject.encode())
        self._git("add", ".")
        stamp = when.isoformat()
        author = name or email.split("@")[0].title()
        env = {
            "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": stamp,
        }
        if isinstance(subject, bytes):
            return self._raw_commit(subject, author, email, when)
        message = self.path.parent / f".message-{self._count}"
        message.write_bytes(subject.encode(encoding or "utf-8"))
        settings = ["-c", f"i18n.commitEncoding={encoding}"] if encoding else []
        self._git(*settings, "commit", "-q", "-F", str(message), env=env)
        return self.head()

    def commit_many(self, commits: list[tuple[str, str]], *, when: dt.datetime) -> str:
        """Many (subject, email) commits in one `git fast-import`: hundreds take a moment, not minutes."""
        stamp = f"{int(when.timestamp())} +0000"
        parent = self._git("rev-parse", "-q", "--verify", "HEAD", check=False).strip()
        stream = []
        for index, (subject, email) in enumerate(commits):
            self._count += 1
            message, content = subject.encode(), subject.encode()
            author = f"{email.split('@')[0].title()} <{email}> {stamp}"
            stream += [f"commit refs/heads/{self.branch}", f"mark :{index + 1}", f"author {author}", f"committer {author}"]
            stream += [f"data {len(message)}", subject]
            if index == 0 and parent:
                stream.append(f"from {parent}")
            stream += [f"M 644 inline change-{self._count}.txt", f"data {len(content)}", subject, ""]
        subprocess.run(["git", "fast-import", "--quiet"], cwd=self.path, check=True, input="\n".join(stream).encode(), capture_output=True)
        self._git("reset", "-q", "--hard")
        return self.head()

    def _raw_commit(self, subject: bytes, author: str, email: str, when: dt.datetime) -> str:
        """Written as an object, since `git commit` would re-encode a message that is not UTF-8."""
        tree = self._git("write-tree").strip()
        parents = self._git("for-each-ref", "--format=%(objectname)", f"refs/heads/{self.branch}").strip()
        ident = f"{author} <{email}> {int(when.timestamp())} +0000".encode()
        lines = [b"tree " + tree.encode()] + ([b"parent " + parents.encode()] if parents else [])
        lines += [b"author " + ident, b"committer " + ident, b"", subject, b""]
        sha = subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=self.path, input=b"\n".join(lines),
            check=True, capture_output=True,
        ).stdout.decode().strip()
        self._git("update-ref", f"refs/heads/{self.branch}", sha)
        return sha

    def head(self) -> str:
        return self._git("rev-parse", "HEAD").strip()
