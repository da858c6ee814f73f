"""Every action_id, block_id and callback_id the bot uses, in one place."""

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
