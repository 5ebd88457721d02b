"""The treatment calendar against what was done, the site worklist, exposure, and protocol deviations computed from the data (issue 9)."""
