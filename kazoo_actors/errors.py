"""The exceptions kazoo-actors raises to the program, under one base class."""

from __future__ import annotations


class KazooError(Exception):
    """Base class of the errors the engine raises to the program."""


class MediaStackUnavailable(KazooError):
    """The chosen media stack is not available (the seed's "flash missing")."""
