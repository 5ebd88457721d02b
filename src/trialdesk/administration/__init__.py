"""Administration without the admin site: users, memberships, site activation, the user-access history; a user's own account (issue 15)."""
