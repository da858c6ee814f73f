"""People rather than products: who is away and who verifies for them, and reminders that respect
their own time zone and working hours."""
