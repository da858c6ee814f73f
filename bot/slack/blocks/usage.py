"""Usage text of the slash commands, shown by `help` and after anything not understood."""

from __future__ import annotations

from bot.slack.blocks.text import clip, escape, private_reply

Usage = tuple[tuple[str, str], ...]

RC_USAGE: Usage = (
    ("/rc status [product]", "the current release candidate: state, release manager, who verified, who is pending"),
    ("/rc cut [product]", "cut a release candidate now; you become its release manager"),
    ("/rc cut [product] urgent <reason>", "replace the candidate in progress with a new one, for urgent changes"),
    ("/rc nonviable [product] <reason>", "declare the current candidate not viable, with the reason"),
    ("/rc release [product] [reason]", "release the candidate to production (release manager or admin); the reason is needed while verifications are pending"),
    ("/rc manager [product] @user", "hand the release manager role to someone else"),
    ("/rc history [product]", "the last ten production releases"),
    ("/rc stats [product] [days]", "the four DORA delivery figures of the last 30 days, or of the days given (1 to 365)"),
    ("/rc away <until> [@delegate]", "away until a date, a date and time (your time zone) or for a duration like 3d; `/rc away end`, `/rc away` for your status"),
    ("/rc help", "this list"),
)
PRODUCT_NOTE = "In a product's release channel the product is implied; elsewhere name it, e.g. `/rc status checkout`."


def usage_reply(command: str, usage: Usage, not_understood: str | None = None, note: str | None = None) -> dict:
    """The whole usage, led by what was not understood when there was something."""
    lines = [f"`{syntax}`  {meaning}" for syntax, meaning in usage]
    if note:
        lines.append(note)
    if not_understood is None:
        return private_reply(f"What `{command}` can do:", *lines)
    word = escape(clip(not_understood, 60))
    return private_reply(f"I did not understand `{command} {word}`. What `{command}` can do:", *lines)


def too_long_reply(command: str, text: str, limit: int) -> dict | None:
    """Slack caps what it sends, but a forged request may not; refuse before parsing."""
    if len(text) <= limit:
        return None
    return private_reply(f"That is too long for `{command}` ({len(text)} characters; at most {limit}).")


def rc_usage(not_understood: str | None = None) -> dict:
    return usage_reply("/rc", RC_USAGE, not_understood, PRODUCT_NOTE)

FLAG_USAGE: Usage = (
    ("/flag create <key> [type] [description]", "a new flag, off everywhere; type is release, experiment, permission or ops"),
    ("/flag create <key> variants <name>=<value>...", "a flag with its own variants (JSON values, else text); the first is the default"),
    ("/flag list", "every flag"),
    ("/flag show <key>", "a flag in each environment"),
    ("/flag on|off <key> [env]", "turn a flag on or off; off takes effect at once"),
    ("/flag rollout <key> <0-100>% [env]", "turn a flag on for a share of users"),
    ("/flag target <key> add|remove <key, @user or segment:NAME>... [env]", "turn a flag on for named users or segments"),
    ("/flag serve <key> <variant> [env]", "serve one variant to everyone"),
    ("/flag split <key> <variant>=<weight>... [env]", "split everyone between variants; weights sum to 100"),
    ("/flag plan <key> [template] [env]", "a rollout plan: stages approved by role, baked, watched by checks"),
    ("/flag plan status|go|pause|resume|rollback|abort <key> [env]", "see or steer the flag's plan"),
    ("/flag plan no-go <key> [env] <reason>", "halt the plan, with the reason"),
    ("/flag owner <key> @user", "hand the flag to a new owner"),
    ("/flag history <key>", "every change to the flag"),
    ("/flag archive <key>", "retire a flag"),
    ("/flag help", "this list"),
)

FREEZE_USAGE: Usage = (
    ("/freeze [status]", "the freezes in force"),
    ("/freeze start <until> <reason> [product|all]", "freeze changes until a date, a date and time, or for a duration like 3d"),
    ("/freeze end [product|all]", "end a freeze"),
    ("/freeze help", "this list"),
)
