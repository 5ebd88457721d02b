"""The derived marrow response beside the investigator's, its discordances and confirmations, transfusion needs and per-subject response (issue 10)."""
