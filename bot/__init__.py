"""releasebot: a Slack bot that coordinates software releases."""
