"""Errors that mean the input is wrong: retrying cannot help, and the message is for the user."""


class InputError(Exception):
    """Bad or missing input; the message says what is wrong and how to fix it, in one line."""
