"""Every action_id, block_id and callback_id the bot uses, in one place."""

import re

# slash commands
RC_COMMAND = "/rc"
FLAG_COMMAND = "/flag"
FREEZE_COMMAND = "/freeze"
COMMANDS = (RC_COMMAND, FLAG_COMMAND, FREEZE_COMMAND)

# the candidate message
VERIFY = "rc_verify"
DELEGATE = "rc_delegate"
NONVIABLE = "rc_nonviable"
CANDIDATE_ACTIONS_BLOCK = "rc_actions"
CHANGES = "rc_changes"  # "All changes": opens the changes modal

# the changes modal, a page at a time
CHANGES_VIEW = "rc_changes_view"
CHANGES_PREVIOUS = "rc_changes_previous"
CHANGES_NEXT = "rc_changes_next"

# the non-viable modal
NONVIABLE_VIEW = "rc_nonviable_view"
NONVIABLE_REASON_BLOCK = "rc_nonviable_reason"
NONVIABLE_REASON_INPUT = "reason"
NONVIABLE_NEXT_BLOCK = "rc_nonviable_next"
NONVIABLE_NEXT_INPUT = "next_steps"

# releasing outside the rules
RELEASE_EXCEPTION = "rc_release_exception"
EXCEPTION_VIEW = "rc_exception_view"
EXCEPTION_KIND_BLOCK = "rc_exception_kind"
EXCEPTION_KIND_INPUT = "kind"
EXCEPTION_NOTE_BLOCK = "rc_exception_note"
EXCEPTION_NOTE_INPUT = "note"

# flag approval requests
FLAG_REQUEST_BLOCK = "flag_request"
FLAG_APPROVE = "flag_approve"
FLAG_REJECT = "flag_reject"

# a direct message that asks for a verification (reminders, away delegations): its "Verified"
# button is VERIFY with the candidate's id, handled by the notice's own listener
VERIFY_PROMPT_BLOCK = "rc_verify_prompt"

# the App Home tab: the same actions once per candidate or request, with the item after a colon so
# every action_id in the view is unique; the listeners match the plain id and the suffixed ones
HOME_CANDIDATE_BLOCK = "home_rc"  # + ":<candidate id>"
HOME_FLAG_BLOCK = "home_flag"  # + ":<request id>"


def for_item(action_id: str, item: int) -> str:
    return f"{action_id}:{item}"


def any_item(action_id: str) -> re.Pattern:
    """The plain action id and its per-item forms, for app.action()."""
    return re.compile(rf"^{re.escape(action_id)}(:\d{{1,18}})?$")


def item_of(action_id: str) -> int | None:
    _, _, item = action_id.partition(":")
    return int(item) if item.isdigit() and len(item) <= 18 else None

# rollout plans: every button's value is the plan id; each approval button's action id ends with
# its role (":technical"), so the ids in one message stay unique
PLAN_ACTIONS_BLOCK = "rollout_plan"
PLAN_APPROVE = "plan_approve"
PLAN_GO = "plan_go"
PLAN_NO_GO = "plan_no_go"
PLAN_REJECT = "plan_reject"
PLAN_REASON_VIEW = "plan_reason_view"  # private_metadata: "<no_go|reject>:<plan id>"
PLAN_REASON_BLOCK = "plan_reason"
PLAN_REASON_INPUT = "reason"


HOME_PLAN_BLOCK = "home_plan"  # + ":<plan id>"; its approval buttons are PLAN_APPROVE:<role>:<plan id>


def any_role(action_id: str) -> re.Pattern:
    """The action id with a role, and with the plan id after it too (the App Home's form)."""
    return re.compile(rf"^{re.escape(action_id)}:[a-z][a-z0-9_-]{{0,31}}(:\d{{1,18}})?$")


def role_of(action_id: str) -> str:
    return action_id.split(":")[1]
