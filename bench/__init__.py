"""Benchmarks that run the real bot against the fake Slack and print figures; see bench/README.md."""
