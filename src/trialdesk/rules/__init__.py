"""trialdesk.rules — pure core (never imports Django)."""
