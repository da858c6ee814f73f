"""The one way a service says no."""


class Refused(Exception):
    """The action is not allowed now; the message says why, in plain words, to the person who tried.

    Text the person typed that the message repeats is passed by name (`Refused("No flag `{key}`.",
    key=typed)`), so the surface that shows the message can escape it; str() fills it in as typed.
    """

    def __init__(self, message: str, **typed: str):
        self.template = message
        self.typed = typed
        super().__init__(message.format(**typed) if typed else message)
