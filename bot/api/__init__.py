"""The JSON API under /api/v1/, for deploy pipelines and scripts."""
