"""The REDCap-compatible API (issue 14): ``/redcap/api/`` for the study of a trialdesk token."""
