"""Rollout plans: templates, the plan state machine, metric checks, the service."""
