"""Prometheus metrics, served at GET /metrics."""

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)

slack_requests = Counter(
    "releasebot_slack_requests",
    "Requests from Slack by kind (command, action, view, event, ...) and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
slack_api_errors = Counter(
    "releasebot_slack_api_errors",
    "Slack Web API calls that failed after retries, by method and error.",
    ["method", "error"],
    registry=REGISTRY,
)
job_runs = Counter(
    "releasebot_job_runs",
    "Scheduled job runs by job and outcome (ok, failed, skipped).",
    ["job", "outcome"],
    registry=REGISTRY,
)
outbox_backlog = Gauge(
    "releasebot_outbox_backlog",
    "Slack messages owed and not yet delivered, read from the database at each scrape.",
    registry=REGISTRY,
)
outbox_oldest_age = Gauge(
    "releasebot_outbox_oldest_age_seconds",
    "How long the oldest owed Slack message has been waiting (0 when none).",
    registry=REGISTRY,
)
outbox_set_aside = Gauge(
    "releasebot_outbox_set_aside",
    "Slack messages set aside because Slack will not take them until someone fixes something, by Slack error.",
    ["error"],
    registry=REGISTRY,
)
delivery_paused = Gauge(
    "releasebot_delivery_paused",
    "1 while this process has paused all delivery because Slack refuses the bot token, by error.",
    ["error"],
    registry=REGISTRY,
)
