"""trialdesk.clinical — pure core (never imports Django)."""
