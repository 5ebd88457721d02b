"""trialdesk.exchange — pure core (never imports Django)."""
