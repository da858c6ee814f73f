"""The mrkdwn helpers: clipping never cuts an escape or a mention in half."""

from __future__ import annotations

import re

import pytest

from bot.slack.blocks.text import escape, escaped, fit

WHOLE_ESCAPES = re.compile(r"&(?!amp;|lt;|gt;)")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_short_text_is_escaped_whole():
    assert escaped("a <b> & c", 100) == "a &lt;b&gt; &amp; c"
    assert escaped("<!channel>", 15) == "&lt;!channel…"  # "&gt;" does not fit: it is left out whole
    assert escaped("<!channel>", 16) == "&lt;!channel&gt;"


@pytest.mark.parametrize("limit", range(1, 40))
@pytest.mark.parametrize("hostile", ["<!channel>&" * 7, "&&&&&&&&&&&&&&&&&&&&", "<<<>>>&&&<>&" * 4, "a<b&c>d" * 9])
def test_hostile_text_is_cut_before_escaping_at_every_limit(hostile, limit):
    out = escaped(hostile, limit)
    assert len(out) <= limit
    if len(escape(hostile)) <= limit:
        assert out == escape(hostile)
        return
    assert out.endswith("…")
    body = out[:-1]
    assert not WHOLE_ESCAPES.search(body), f"an escape was cut: {out!r}"
    assert "<" not in body and ">" not in body
    assert hostile.startswith(unescape(body)), "the kept part is the start of the raw text"
    assert len(body) > limit - 1 - len("&amp;"), "no more was dropped than one escape"


def test_seventy_hostile_characters_in_ninety():
    subject = ("<!channel>&" * 7)[:70]
    out = escaped(subject, 90)
    assert out.endswith("…") and len(out) <= 90
    assert "<!channel>" not in out and not WHOLE_ESCAPES.search(out[:-1])


@pytest.mark.parametrize("limit", range(5, 60))
def test_fit_never_splits_an_escape_or_a_mention(limit):
    built = "Pending: <@U0DANA> &amp; <@U0ERIN> wrote &lt;b&gt; <https://x.example|link> &amp;&amp;"
    out = fit(built, limit)
    assert len(out) <= limit
    if out == built:
        return
    body = out[:-1]
    assert out.endswith("…") and built.startswith(body)
    assert body.count("<") == body.count(">"), out
    assert not re.search(r"&[a-z]*$", body), out


def test_fit_leaves_text_within_the_limit_alone():
    assert fit("<@U0DANA> &amp;", 15) == "<@U0DANA> &amp;"
