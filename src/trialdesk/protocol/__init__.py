"""trialdesk.protocol — pure core (never imports Django)."""
