"""The one way a service says no."""


class Refused(Exception):
    """The action is not allowed now; the message says why, in plain words, to the person who tried."""
