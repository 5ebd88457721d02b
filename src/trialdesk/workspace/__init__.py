"""Each role's home: the worklists that gather the other apps' work, and the subject search (issue 15)."""
