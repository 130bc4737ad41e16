"""The one error type users see: a one-line message, no stack trace."""


class MlgateError(Exception):
    """A problem with the user's input (file, params, data) that the CLI reports in one line."""

    exit_code = 2


class GateFailed(MlgateError):
    """A quality gate blocked: the report explains which checks and by how much."""

    exit_code = 1
