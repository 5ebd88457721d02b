"""trialdesk.stats — pure core (never imports Django)."""
