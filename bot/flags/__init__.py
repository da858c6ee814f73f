"""Feature flags: rules, evaluation (flagd semantics), OFREP and flagd export."""
