"""trialdesk.exports — the study's data out (CDISC ODM 1.3.2, tidy CSV), as a user may see it, audited."""
