"""What the bot knows and shows of one person: their App Home, away status, reminders, figures."""
