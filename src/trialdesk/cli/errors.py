"""Errors a user can cause from the command line: one line, a chosen exit code."""


class UserError(Exception):
    """Something the user can fix; printed as one line, without a traceback."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code
