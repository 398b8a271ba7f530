"""Errors that mean the input is wrong: retrying cannot help, and the message is for the user."""


class InputError(Exception):
    """Bad or missing input; the message says what is wrong and how to fix it, in one line."""

    # A new attempt would see the same input (a subclass may say otherwise: a service that is
    # down may be back by then).
    retryable = False
