"""Block Kit limits that Slack enforces server-side.

The fake runs these checks so a payload the real Slack would reject also fails in tests.
Error strings follow Slack's own format: ``"<problem> [json-pointer:/blocks/0/text/text]"``.
Duplicate ``action_id`` values are rejected across the whole surface, which is stricter than
Slack's documented "unique within the containing block" but catches ambiguous handlers early.

Besides the per-block limits, a message whose blocks hold more than ``MESSAGE_MAX_BLOCKS_TEXT``
characters of text in all (every text string: section text and fields, context elements, headers,
button labels, placeholders...) is refused with ``msg_blocks_too_long``. Slack does not document the
figure, but posts fail near 12,000 characters while every block is valid on its own.
"""

from typing import Any

MESSAGE_MAX_BLOCKS = 50
MESSAGE_MAX_BLOCKS_TEXT = 12_000
VIEW_MAX_BLOCKS = 100

BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
BUTTON_STYLES = ("primary", "danger")


class _Checker:
    """Walks one surface (a message or a view), collecting every violation it finds."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._block_ids: set[str] = set()
        self._action_ids: set[str] = set()

    def fail(self, problem: str, pointer: str) -> None:
        self.errors.append(f"{problem} [json-pointer:{pointer}]")

    def string(self, value: Any, pointer: str, max_len: int, min_len: int = 1) -> None:
        if not isinstance(value, str):
            self.fail("must be a string", pointer)
        elif len(value) < min_len:
            self.fail(f"must be more than {min_len - 1} characters", pointer)
        elif len(value) > max_len:
            self.fail(f"must be less than {max_len + 1} characters", pointer)

    def items(self, value: Any, pointer: str, max_items: int) -> list:
        if not isinstance(value, list):
            self.fail("must be an array", pointer)
            return []
        if not value:
            self.fail("must provide at least 1 item", pointer)
        elif len(value) > max_items:
            self.fail(f"no more than {max_items} items allowed", pointer)
        return value

    def text_object(self, obj: Any, pointer: str, max_len: int, plain_only: bool = False) -> None:
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            self.fail(f"must be one of: {', '.join(allowed)}", f"{pointer}/type")
        self.string(obj.get("text"), f"{pointer}/text", max_len)

    def unique_id(self, value: Any, pointer: str, seen: set[str], label: str) -> None:
        self.string(value, pointer, 255)
        if isinstance(value, str):
            if value in seen:
                self.fail(f"duplicate {label}: {value}", pointer)
            seen.add(value)

    def blocks(self, blocks: Any, pointer: str, max_blocks: int) -> None:
        if not isinstance(blocks, list):
            self.fail("must be an array", pointer)
            return
        if len(blocks) > max_blocks:
            self.fail(f"no more than {max_blocks} items allowed", pointer)
        for index, block in enumerate(blocks):
            self.block(block, f"{pointer}/{index}")

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.fail("must provide an object", pointer)
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            self.fail(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if "block_id" in block:
            self.unique_id(block["block_id"], f"{pointer}/block_id", self._block_ids, "block_id")
        checks = {
            "section": self.section,
            "header": self.header,
            "actions": self.actions,
            "context": self.context,
            "input": self.input,
            "image": self.image,
        }
        if kind in checks:
            checks[kind](block, pointer)

    def section(self, block: dict, pointer: str) -> None:
        if "text" not in block and "fields" not in block:
            self.fail("must provide either text or fields", pointer)
        if "text" in block:
            self.text_object(block["text"], f"{pointer}/text", 3000)
        if "fields" in block:
            for index, field in enumerate(self.items(block["fields"], f"{pointer}/fields", 10)):
                self.text_object(field, f"{pointer}/fields/{index}", 2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory")

    def header(self, block: dict, pointer: str) -> None:
        self.text_object(block.get("text"), f"{pointer}/text", 150, plain_only=True)

    def actions(self, block: dict, pointer: str) -> None:
        for index, element in enumerate(self.items(block.get("elements"), f"{pointer}/elements", 25)):
            self.element(element, f"{pointer}/elements/{index}")

    def context(self, block: dict, pointer: str) -> None:
        for index, element in enumerate(self.items(block.get("elements"), f"{pointer}/elements", 10)):
            element_pointer = f"{pointer}/elements/{index}"
            if isinstance(element, dict) and element.get("type") == "image":
                self.string(element.get("alt_text"), f"{element_pointer}/alt_text", 2000)
            else:
                self.text_object(element, element_pointer, 3000)

    def input(self, block: dict, pointer: str) -> None:
        self.text_object(block.get("label"), f"{pointer}/label", 2000, plain_only=True)
        if "hint" in block:
            self.text_object(block["hint"], f"{pointer}/hint", 2000, plain_only=True)
        self.element(block.get("element"), f"{pointer}/element")

    def image(self, block: dict, pointer: str) -> None:
        if "image_url" not in block and "slack_file" not in block:
            self.fail("must provide either image_url or slack_file", pointer)
        self.string(block.get("alt_text"), f"{pointer}/alt_text", 2000)
        if "title" in block:
            self.text_object(block["title"], f"{pointer}/title", 2000, plain_only=True)

    def element(self, element: Any, pointer: str) -> None:
        if not isinstance(element, dict):
            self.fail("must provide an object", pointer)
            return
        if "action_id" in element:
            self.unique_id(element["action_id"], f"{pointer}/action_id", self._action_ids, "action_id")
        if element.get("type") == "button":
            self.text_object(element.get("text"), f"{pointer}/text", 75, plain_only=True)
            if "value" in element:
                self.string(element["value"], f"{pointer}/value", 2000)
            if "url" in element:
                self.string(element["url"], f"{pointer}/url", 3000)
            if "style" in element and element["style"] not in BUTTON_STYLES:
                self.fail(f"must be one of: {', '.join(BUTTON_STYLES)}", f"{pointer}/style")


class BlockProblems(list):
    """The problems with a message's blocks, and the error code Slack answers them with."""

    def __init__(self, problems: list[str], error: str = "invalid_blocks") -> None:
        super().__init__(problems)
        self.error = error


def blocks_text_length(value: Any) -> int:
    """Characters of text in blocks: every string under a ``text`` key, at any depth."""
    if isinstance(value, list):
        return sum(blocks_text_length(item) for item in value)
    if not isinstance(value, dict):
        return 0
    own = value.get("text")
    return (len(own) if isinstance(own, str) else 0) + sum(blocks_text_length(item) for item in value.values())


def message_block_errors(blocks: list) -> BlockProblems:
    """Problems with a message's ``blocks``: ``invalid_blocks`` for a block Slack would refuse,
    else ``msg_blocks_too_long`` when their text passes the whole message's limit."""
    checker = _Checker()
    checker.blocks(blocks, "/blocks", MESSAGE_MAX_BLOCKS)
    if checker.errors:
        return BlockProblems(checker.errors)
    length = blocks_text_length(blocks)
    if length > MESSAGE_MAX_BLOCKS_TEXT:
        problem = f"blocks hold {length} characters of text, more than {MESSAGE_MAX_BLOCKS_TEXT} [json-pointer:/blocks]"
        return BlockProblems([problem], "msg_blocks_too_long")
    return BlockProblems([])


def view_errors(view: Any, allowed_types: set[str]) -> list[str]:
    """Problems Slack would report as ``invalid_arguments`` for a ``view`` payload."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.fail("must provide an object", "/view")
        return checker.errors
    kind = view.get("type")
    if kind not in allowed_types:
        checker.fail(f"must be one of: {', '.join(sorted(allowed_types))}", "/view/type")
    if kind == "modal":
        checker.text_object(view.get("title"), "/view/title", 24, plain_only=True)
        for button in ("submit", "close"):
            if button in view:
                checker.text_object(view[button], f"/view/{button}", 24, plain_only=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(block, dict) and block.get("type") == "input" for block in blocks
        )
        if has_input and "submit" not in view:
            checker.fail("must provide submit when the view contains input blocks", "/view/submit")
    for key in ("callback_id", "external_id"):
        if key in view:
            checker.string(view[key], f"/view/{key}", 255, min_len=0)
    if "private_metadata" in view:
        checker.string(view["private_metadata"], "/view/private_metadata", 3000, min_len=0)
    checker.blocks(view.get("blocks"), "/view/blocks", VIEW_MAX_BLOCKS)
    return checker.errors
