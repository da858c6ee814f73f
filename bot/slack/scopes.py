"""The bot scopes releasebot asks for, and the scope each Web API method it calls needs.

`manifest.yml` declares the same list (a test holds them equal). `releasebot doctor` compares it
with what Slack granted, and the Slack emulator refuses a method whose scope was not granted,
as Slack does.
"""

from __future__ import annotations

BOT_SCOPES = frozenset({
    "commands", "chat:write", "im:write", "users:read", "users:read.email", "channels:read", "groups:read",
    "channels:history", "groups:history", "im:history",
})

# Where a method's scope depends on the conversation, the public-channel scope is first, then the
# private-channel one, then the DM one (Slack's own table for conversations.*).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.open": ("im:write",),
    "conversations.info": ("channels:read", "groups:read", "im:read"),
    "conversations.members": ("channels:read", "groups:read", "im:read"),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
}
