"""The App Home tab."""

from __future__ import annotations

from bot.config import Config
from bot.slack.blocks.text import context, escape, section


def home_view(config: Config) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "releasebot"}},
        section("Daily release candidates, release managers, sign-offs, release hours and freezes."),
    ]
    if not config.products:
        blocks.append(section("No products are configured yet."))
    for product in config.products[:40]:
        blocks.append(section(f"*{escape(product.name)}* (`{product.key}`) in <#{product.channel}>"))
    blocks.append(context("`/rc help` lists what you can do."))
    return {"type": "home", "blocks": blocks}
