# VT203: tries a positional class pattern, which fetches attributes named in __match_args__ by string.
from dataclasses import dataclass


@dataclass
class Point:
    x: int
    y: int


match Point(1, 2):
    case Point(a, b):
        TOTAL = a + b
