"""Widths of the columns that hold configured names, so `check-config` refuses what the database cannot
store. Text supplied by git or people (names, emails, subjects, reasons) is stored as Text, unbounded."""

PRODUCT_KEY = 64  # candidates.product, freezes.scope, job_runs.scope, ...
ENVIRONMENT = 32  # flag_states.environment and the flag audit trail
SLACK_ID = 32  # user and channel ids: release managers, admins, channels
EMAIL = 320  # email_lookups.email: a longer address is no address Slack knows, so it is never looked up
