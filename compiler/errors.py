"""The one exception type users see: its message is printed as a single line by the CLI."""


class TinycError(Exception):
    """A problem with the user's input (model, options, paths), reported without a traceback."""


class UnsupportedError(TinycError):
    """The model uses an op, option or type tinyc does not compile."""
