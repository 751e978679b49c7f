# VT201: tries typing.get_type_hints, which evaluates annotation strings with eval.
from typing import get_type_hints
