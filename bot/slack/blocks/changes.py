"""The "All changes" modal: a candidate's full per-engineer list, behind the notice's button.

The notice only summarizes a large candidate, so this is where every engineer finds and checks
their changes. The first page starts with the viewer's own changes (and those delegated to them,
or the unmatched authors' for the release manager); then one block per engineer, its list clipped
to `ENGINEER_TEXT`. A page holds at most `PAGE_BLOCKS` blocks and `PAGE_TEXT` characters of text:
inside a modal's 100 blocks, and inside the 12,000 characters Slack allows a message, since Slack
does not say what it allows a view. "Previous" and "Next" buttons turn the pages (views.update).
"""

from __future__ import annotations

from bot.release.model import Candidate
from bot.slack import ids
from bot.slack.blocks.candidate import change_line, engineer_text, who
from bot.slack.blocks.text import SECTION_LIMIT, escape, section

ENGINEER_TEXT = 1500
YOUR_SECTIONS = 2
PAGE_TEXT = 11_000  # engineers' blocks plus the viewer's own, per page
PAGE_BLOCKS = 90


def changes_modal(candidate: Candidate, product_name: str, viewer: str, page: int = 0) -> dict:
    pages = _pages(candidate, viewer)
    page = max(0, min(page, len(pages) - 1))
    matched = [e for e in candidate.engineers if e.user is not None]
    intro = (
        f"*{escape(product_name)} {candidate.version}*: {len(candidate.changes)} changes by {len(matched)} engineers, "
        f"{sum(1 for e in matched if e.verified)} verified. Check yours in the RC environment, then press "
        "*Verified* on the candidate's message."
    )
    if len(pages) > 1:
        intro += f" Page {page + 1} of {len(pages)}."
    blocks = [section(intro), *pages[page]]
    buttons = []
    if page > 0:
        buttons.append(_page_button(ids.CHANGES_PREVIOUS, "Previous", candidate.id, page - 1))
    if page + 1 < len(pages):
        buttons.append(_page_button(ids.CHANGES_NEXT, "Next", candidate.id, page + 1))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {
        "type": "modal",
        "callback_id": ids.CHANGES_VIEW,
        "private_metadata": str(candidate.id),
        "title": {"type": "plain_text", "text": "All changes"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    }


def page_of(value: str) -> tuple[int, int] | None:
    """(candidate id, page) from a page button's value; None when it is not one of ours."""
    candidate, _, page = str(value).partition(":")
    if not (candidate.isdigit() and page.isdigit()) or len(candidate) > 18 or len(page) > 6:
        return None
    return int(candidate), int(page)


def _page_button(action_id: str, label: str, candidate_id: int, page: int) -> dict:
    text = {"type": "plain_text", "text": label}
    return {"type": "button", "action_id": action_id, "text": text, "value": f"{candidate_id}:{page}"}


def _yours(candidate: Candidate, viewer: str) -> list[dict]:
    """The viewer's part: their own changes and those they verify for someone else."""
    mine = [e for e in candidate.engineers if e.user == viewer or candidate.verifier_of(e.user) == viewer]
    if not mine:
        return [section("*Your changes:* none in this candidate.")]
    state = "verified" if all(e.verified for e in mine) else "to verify"
    lines = [f"*Your changes* ({sum(len(e.changes) for e in mine)}, {state}):"]
    for engineer in mine:
        if engineer.user != viewer:
            lines.append(f"_for {who(candidate, engineer)}:_")
        lines += [change_line(c) for c in engineer.changes]
    chunks, left = _split(lines, SECTION_LIMIT - 80, YOUR_SECTIONS)
    hidden = sum(1 for line in left if line.startswith("•"))
    if hidden:
        chunks[-1] += f"\n…and {hidden} more: `git log {candidate.commit_range.replace('up to ', '')}`"
    return [section(chunk) for chunk in chunks]


def _split(lines: list[str], limit: int, most: int) -> tuple[list[str], list[str]]:
    """Whole lines packed into at most `most` texts of `limit` characters, and the lines left over."""
    chunks: list[list[str]] = [[]]
    used = 0
    for index, line in enumerate(lines):
        if chunks[-1] and used + 1 + len(line) > limit:
            if len(chunks) == most:
                return ["\n".join(chunk) for chunk in chunks], lines[index:]
            chunks.append([])
            used = 0
        chunks[-1].append(line)
        used += 1 + len(line)
    return ["\n".join(chunk) for chunk in chunks], []


def _pages(candidate: Candidate, viewer: str) -> list[list[dict]]:
    """Engineers' blocks packed into pages by count and by text; the viewer's own come first."""
    current = _yours(candidate, viewer)
    used = sum(len(b["text"]["text"]) for b in current)
    pages: list[list[dict]] = []
    for engineer in candidate.engineers:
        block = section(engineer_text(candidate, engineer, ENGINEER_TEXT))
        size = len(block["text"]["text"])
        if current and (used + size > PAGE_TEXT or len(current) >= PAGE_BLOCKS):
            pages.append(current)
            current, used = [], 0
        current.append(block)
        used += size
    pages.append(current)
    return pages
