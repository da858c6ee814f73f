"""People and teams: who is away, reminders, the App Home, delivery figures and the weekly digest."""
