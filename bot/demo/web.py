"""The demo page's HTTP handlers: the page itself, one JSON snapshot of the workspace as the chosen
person sees it (polled every second), and the things a person does in Slack, sent to the bot as
Slack would send them."""

from __future__ import annotations

import asyncio
import datetime as dt
from importlib import resources
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.demo import sample
from bot.demo.run import Demo
from bot.slack.ids import COMMANDS

STATIC = resources.files("bot.demo") / "static"
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
CLOCK_STEPS = {"1h": {"hours": 1}, "1d": {"days": 1}}


def build_web(demo: Demo) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    app["demo"] = demo
    app.router.add_get("/", lambda _request: _static("index.html"))
    app.router.add_get("/static/{name}", lambda request: _static(request.match_info["name"]))
    app.router.add_get("/api/state", state)
    for path, handler in (("command", command), ("action", action), ("submit", submit), ("close", close),
                          ("home", home), ("cut", cut), ("commits", commits), ("clock", clock)):
        app.router.add_post(f"/api/{path}", handler)
    return app


def _static(name: str) -> web.Response:
    suffix = "." + name.rpartition(".")[2]
    if "/" in name or suffix not in CONTENT_TYPES or not (STATIC / name).is_file():
        raise web.HTTPNotFound()
    return web.Response(body=(STATIC / name).read_bytes(), content_type=CONTENT_TYPES[suffix],
                        headers={"Cache-Control": "no-store"})


def _person(user: str | None) -> str:
    if sample.person(user or "") is None:
        raise web.HTTPBadRequest(text="pick one of the sample people")
    return user


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="a JSON body is expected") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="a JSON object is expected")
    return body


# ----------------------------------------------------------------- the snapshot


async def state(request: web.Request) -> web.Response:
    demo: Demo = request.app["demo"]
    user = _person(request.query.get("user"))
    return web.json_response(await asyncio.to_thread(snapshot, demo, user))


def snapshot(demo: Demo, user: str) -> dict:
    fake, zone = demo.fake, ZoneInfo(sample.person(user).tz)
    release_zone = ZoneInfo(demo.runtime.config.release_hours.timezone)
    now = demo.clock.now()

    def shown(ts: str) -> str:
        instant = dt.datetime.fromtimestamp(float(ts), dt.timezone.utc).astimezone(zone)  # the emulator runs on the demo's clock
        return instant.strftime("%H:%M" if instant.date() == now.astimezone(zone).date() else "%a %d %b %H:%M")

    def message(m: dict, channel: str) -> dict:
        item = {key: m.get(key) for key in ("ts", "user", "text", "blocks", "thread_ts")}
        item.update(time=shown(m["ts"]), edited=bool(m.get("edited")), replies=[])
        if m.get("reply_count"):
            item["replies"] = [message(reply, channel) for reply in fake.thread(channel, m["ts"])]
        return item

    acks, closed, notes = demo.seen_by(user)
    private = fake.ephemerals(user=user) + acks

    def conversation(channel: str, name: str, kind: str) -> dict:
        items = [message(m, channel) for m in fake.messages(channel)]
        items += [
            {"ts": e["message_ts"], "user": fake.bot_user_id, "text": e["text"], "blocks": e["blocks"], "ephemeral": True,
             "time": shown(e["message_ts"]), "replies": []}
            for e in private if e["channel"] == channel
        ]
        return {"id": channel, "name": name, "kind": kind, "messages": sorted(items, key=lambda i: float(i["ts"]))}

    channels = [conversation(p.channel, p.channel_name, "channel") for p in sample.PRODUCTS]
    channels.append(conversation(sample.FLAGS_CHANNEL[0], sample.FLAGS_CHANNEL[1], "channel"))
    channels.append(conversation(fake.dm_channel(user), "releasebot", "dm"))
    modals = [v for v in fake.views(user=user) if v["view_id"] not in closed]
    return {
        "me": user,
        "bot": fake.bot_user_id,
        "people": [{"id": p.id, "name": p.name, "real_name": p.real_name, "tz": p.tz} for p in sample.PEOPLE],
        "names": {u: (fake.user(u) or {}).get("name", u) for u in [fake.bot_user_id, *(p.id for p in sample.PEOPLE)]},
        "channel_names": {c["id"]: c["name"] for c in channels if c["kind"] == "channel"},
        "channels": channels,
        "modal": modals[-1] if modals else None,
        "home": fake.home(user),
        "clock": {
            "yours": now.astimezone(zone).strftime("%a %d %b %H:%M %Z"),
            "release": now.astimezone(release_zone).strftime("%a %d %b %H:%M %Z"),
        },
        "notes": notes,
    }


# ----------------------------------------------------------------- what a person does


async def command(request: web.Request) -> web.Response:
    demo: Demo = request.app["demo"]
    body = await _body(request)
    user, channel, line = _person(body.get("user")), str(body.get("channel", "")), str(body.get("text", "")).strip()
    name = line.partition(" ")[0]
    if name not in COMMANDS:
        demo.ack(user, channel, {"text": f"/{name.lstrip('/')} is not a command here; try {', '.join(COMMANDS)}."})
    else:
        await asyncio.to_thread(demo.command, user, channel, line)
    return web.json_response({"ok": True})


async def action(request: web.Request) -> web.Response:
    demo: Demo = request.app["demo"]
    body = await _body(request)
    if not isinstance(body.get("action"), dict) or not body["action"].get("action_id"):
        raise web.HTTPBadRequest(text="an action with an action_id is expected")
    await asyncio.to_thread(demo.action, _person(body.get("user")), str(body.get("channel", "")), body["action"])
    return web.json_response({"ok": True})


async def submit(request: web.Request) -> web.Response:
    demo: Demo = request.app["demo"]
    body = await _body(request)
    answer = await asyncio.to_thread(demo.submit, _person(body.get("user")), str(body.get("view_id")), body.get("values") or {})
    return web.json_response({"ok": True, **answer})


async def close(request: web.Request) -> web.Response:
    request.app["demo"].close_view(str((await _body(request)).get("view_id")))
    return web.json_response({"ok": True})


async def home(request: web.Request) -> web.Response:
    demo: Demo = request.app["demo"]
    await asyncio.to_thread(demo.open_home, _person((await _body(request)).get("user")))
    return web.json_response({"ok": True})


async def cut(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "summary": await request.app["demo"].cut_now()})


async def commits(request: web.Request) -> web.Response:
    demo: Demo = request.app["demo"]
    count = await asyncio.to_thread(demo.repos.add_commits)
    demo.note(f"{count} new commits across the products")
    return web.json_response({"ok": True, "count": count})


async def clock(request: web.Request) -> web.Response:
    label = str((await _body(request)).get("step"))
    if label not in CLOCK_STEPS:
        raise web.HTTPBadRequest(text=f"step is one of {', '.join(CLOCK_STEPS)}")
    await request.app["demo"].move_clock(label, **CLOCK_STEPS[label])
    return web.json_response({"ok": True})
