"""trialdesk.simulate — pure core (never imports Django)."""
