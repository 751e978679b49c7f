# VT201: tries a relative import of a sibling module.
from . import helpers
