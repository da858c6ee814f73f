"""`releasebot demo`: the whole product in a local workspace in the browser.

Sample git repositories and people, the Slack workspace emulator (bot/slack/fake, the tests' own
Slack) and the real bot wired to it, with a page that shows the workspace as a person sees Slack.
"""
