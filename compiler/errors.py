"""The one exception type users see, and how text from a model file is shown in messages.

A message is printed by the CLI as one line. Text that comes from the model (tensor names, custom
op codes) goes through `quote` first: one way of quoting everywhere, control characters escaped,
length bounded, so a model cannot forge extra lines or flood the terminal.
"""

NAME_LIMIT = 60  # characters of a model-supplied name shown in a message
MESSAGE_LIMIT = 240  # characters of a whole message line


class TinycError(Exception):
    """A problem with the user's input (model, options, paths), reported without a traceback."""


class UnsupportedError(TinycError):
    """The model uses an op, option or type tinyc does not compile."""


def quote(text: str | bytes, limit: int = NAME_LIMIT) -> str:
    """`text` in single quotes, printable ASCII only, at most `limit` characters inside.

    >>> quote("conv/Relu6")
    "'conv/Relu6'"
    >>> quote("a\\nb'c")
    "'a\\\\nb\\\\'c'"
    >>> quote("x" * 100, limit=8)
    "'xxxxx...'"
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    escaped = "".join(_escape(c) for c in text)
    if len(escaped) > limit:
        escaped = escaped[: limit - 3] + "..."
    return f"'{escaped}'"


def _escape(c: str) -> str:
    if c == "\\" or c == "'":
        return "\\" + c
    if c == "\n":
        return "\\n"
    if " " <= c <= "~":
        return c
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else "?"


def one_line(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message as one bounded line: the CLI's last guard, whatever built the message.

    >>> one_line("first\\nsecond")
    'first\\\\nsecond'
    """
    flat = "".join(c if c.isprintable() else _escape(c) for c in message)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
