"""Safety: CTCAE-coded adverse events, SAE notification, the safety officer's acknowledgement and expectedness, SUSAR deadlines, CIOMS I (issue 10)."""
