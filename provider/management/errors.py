"""The one error an operator action raises: a request that cannot be carried out."""


class ManagementError(Exception):
    """An operator request that cannot be carried out; the message says why."""
