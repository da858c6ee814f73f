"""Block Kit builders: domain objects in, Slack message and view payloads out."""
