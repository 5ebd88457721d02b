"""The cardiac hold: an LVEF drop that withholds the study drug until an investigator lifts it or stops treatment (issue 9)."""
