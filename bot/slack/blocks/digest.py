"""The weekly digest message and the private answer of `/rc stats`.

The digest is rendered from the facts the service owed (bot/people/digest.py) when it is sent;
every user-supplied value goes through `text` (escaped, clipped) and user ids through `who`,
and every block is fitted to Slack's limits (12,000 characters of text in all, 150 a header).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.people.stats import BANDS
from bot.release.model import ReleaseException
from bot.slack.blocks.events import renders, text, who
from bot.slack.blocks.text import clip, context, fit, private_reply, section

HEADER_LIMIT = 150
# Slack takes at most 12,000 characters of text in a message's blocks: five lists of 1,700, four
# figures of 500 and the header and context lines stay under it.
LISTING_LIMIT = 1700
FIELD_LIMIT = 500
FIGURE_NAMES = {
    "deployment_frequency": "Deployment frequency",
    "lead_time_for_changes": "Lead time for changes",
    "change_failure_rate": "Change failure rate",
    "time_to_restore": "Time to restore",
}
SIGNALS = {"urgent_cut": "urgent cut", "non_viable": "non-viable next candidate", "kill_switch": "kill switch"}


def _when(iso: str | None, zone: str, with_date: bool = False) -> str:
    if not iso:
        return "?"
    local = dt.datetime.fromisoformat(iso).astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %H:%M}" if not with_date else f"{local:%a %d %b %Y %H:%M %Z}"


def duration_words(hours: float | None) -> str:
    if hours is None:
        return "no data"
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} hours"
    return f"{hours / 24:.1f} days"


def _band(figure: dict) -> str:
    return f"*{figure['band']}*" if figure.get("band") else "no band (no data)"


def figure_lines(figures: dict) -> dict[str, str]:
    """One short mrkdwn text per figure: value, what it rests on, band."""
    frequency, lead = figures["deployment_frequency"], figures["lead_time_for_changes"]
    rate, restore = figures["change_failure_rate"], figures["time_to_restore"]
    percent = "no releases" if rate["value"] is None else f"{rate['value']:.1f}% ({rate['failed']} of {rate['releases']} releases)"
    unrestored = f", {restore['unrestored']} not restored yet" if restore["unrestored"] else ""
    return {
        "deployment_frequency": f"{frequency['value']:.1f} releases a week ({frequency['releases']} in {figures['window']['days']:g} days) · {_band(frequency)}",
        "lead_time_for_changes": (
            f"median {duration_words(lead['median'])}, p90 {duration_words(lead['p90'])} ({lead['changes']} changes) · {_band(lead)}"
        ),
        "change_failure_rate": f"{percent} · {_band(rate)}",
        "time_to_restore": f"median {duration_words(restore['median'])} ({restore['restored']} restored{unrestored}) · {_band(restore)}",
    }


def _listing(title: str, entries: dict, line, empty: str) -> dict:
    lines = [line(entry) for entry in entries.get("items", [])]
    more = int(entries.get("more", 0))
    if not lines:
        return section(f"*{title}*\n{empty}")
    body = f"*{title}*\n" + "\n".join(lines)
    tail = f"\n…and {more} more" if more else ""
    return section(fit(body, LISTING_LIMIT - len(tail)) + tail)


def digest_blocks(p: dict) -> list[dict]:
    zone = p.get("timezone") or "UTC"
    product = text(p.get("product"), 100)

    def release(r: dict) -> str:
        by = "" if r.get("by") == r.get("manager") else f", released by {who(r.get('by'))}"
        return f"• `{text(r.get('version'), 60)}` {_when(r.get('at'), zone)}, release manager {who(r.get('manager'))}{by}"

    def nonviable(n: dict) -> str:
        return f"• `{text(n.get('version'), 60)}` by {who(n.get('by'))}: {text(n.get('reason'), 300)}"

    def exception(e: dict) -> str:
        if e.get("pending_reason"):
            return f"• `{text(e.get('version'), 60)}` released with pending verifications by {who(e.get('by'))}: {text(e['pending_reason'], 300)}"
        label = ReleaseException(e["exception"]).label if e.get("exception") in set(ReleaseException) else text(e.get("exception"), 40)
        note = f" ({text(e.get('note'), 300)})" if e.get("note") else ""
        return f"• `{text(e.get('version'), 60)}`: {label}{note}, by {who(e.get('by'))}"

    def freeze(f: dict) -> str:
        scope = "all products" if f.get("scope") == "all" else product
        return f"• {scope}, {_when(f.get('from'), zone)} to {_when(f.get('until'), zone)}, by {who(f.get('by'))}: {text(f.get('reason'), 300)}"

    def flag(c: dict) -> str:
        approved = f", approved by {who(c['approver'])}" if c.get("approver") else ""
        change = text(c.get("change") or c.get("action"), 200)
        return f"• `{text(c.get('key'), 70)}` in {text(c.get('environment'), 40)}: {change}, by {who(c.get('by'))}{approved}, {_when(c.get('at'), zone)}"

    figures = p.get("figures") or {}
    lines = figure_lines(figures) if figures else {}
    return [
        {"type": "header", "text": {"type": "plain_text", "text": clip(f"Weekly digest: {p.get('product') or ''}", HEADER_LIMIT)}},
        context(f"{_when(p.get('since'), zone)} to {_when(p.get('until'), zone, with_date=True)}"),
        _listing("Releases", p.get("releases") or {}, release, "No release this week."),
        _listing("Declared not viable", p.get("nonviable") or {}, nonviable, "None."),
        _listing("Exceptions used", p.get("exceptions") or {}, exception, "None."),
        _listing("Freezes", p.get("freezes") or {}, freeze, "None."),
        _listing("Flags changed in protected environments", p.get("flags") or {}, flag, "None."),
        {"type": "divider"},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Delivery figures, last 30 days*"},
            "fields": [
                {"type": "mrkdwn", "text": fit(f"*{FIGURE_NAMES[name]}*\n{line}", FIELD_LIMIT)} for name, line in lines.items()
            ] or [{"type": "mrkdwn", "text": "no data"}],
        },
        context("Bands: DORA, Accelerate State of DevOps Report 2024. `/rc stats` shows how each figure is made."),
    ]


@renders("digest")
def digest_text(p: dict) -> str:
    """The notification text under the blocks."""
    count = len((p.get("releases") or {}).get("items", [])) + int((p.get("releases") or {}).get("more", 0))
    return f"Weekly digest of {text(p.get('product'), 100)}: {count} release{'s' if count != 1 else ''} this week."


def message_blocks(payload: dict) -> list[dict] | None:
    """Blocks for a channel or DM event that has them; None for a text-only event."""
    return digest_blocks(payload) if payload.get("event") == "digest" else None


def stats_reply(product_name: str, figures: dict) -> dict:
    """The private answer of `/rc stats`: each figure, its band, and the published bands beside it."""
    lines = figure_lines(figures)
    window = figures["window"]
    out = [f"*Delivery figures of {text(product_name, 100)}, last {window['days']:g} days* (DORA bands, State of DevOps 2024)"]
    for name, line in lines.items():
        bands = " · ".join(f"{band} {value}" for band, value in BANDS[name].items())
        out.append(f"*{FIGURE_NAMES[name]}:* {line}\n      _{bands}_")
    hours = figures["change_failure_rate"]["failure_window_hours"]
    failures = figures["change_failure_rate"]["failures"]
    if failures:
        shown = ", ".join(f"`{text(f['release'], 60)}` ({SIGNALS.get(f['signal'], 'signal')} {text(f['subject'], 70)})" for f in failures[:10])
        out.append(f"Failed releases: {shown}{' and more' if len(failures) > 10 else ''}.")
    out.append(
        f"A release failed when within {duration_words(hours)} it was followed by an urgent cut, the next candidate "
        "declared non-viable, or a kill switch on one of the product's flags in a protected environment."
    )
    return private_reply(*out)
