"""The error a config raises for a value it cannot take, shaped so that LeRobot's command line shows it.

LeRobot's scripts build their configs with draccus, which turns a ValueError or TypeError raised while a config is
constructed into "Couldn't instantiate class X using the given arguments."; LeRobot then prints only that line, so
the field's name and the value it expects never reach the user. Any other exception's text is printed (draccus
lists it under the config's choice, e.g. "`policy`: ... PreTrainedConfig: temperature=-1.0: expected >= 0"). The
checks of this package's LeRobot configs therefore raise `InvalidConfigError`, deliberately not a ValueError.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

ConfigT = TypeVar("ConfigT")


class InvalidConfigError(Exception):
    """A config field holds a value it cannot take; the message names the field and the value expected."""


def reports_config_errors(post_init: Callable[[ConfigT], None]) -> Callable[[ConfigT], None]:
    """Decorates a LeRobot config's `__post_init__`: a ValueError from its checks, or from the helpers they call,
    becomes an `InvalidConfigError` with the same message (the ValueError kept as its cause)."""

    @functools.wraps(post_init)
    def checked_post_init(self: ConfigT) -> None:
        try:
            post_init(self)
        except ValueError as error:
            raise InvalidConfigError(str(error)) from error

    return checked_post_init
