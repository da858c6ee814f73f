"""Rollout plans: stages that widen a flag's audience, approved, baked, watched by checks."""
