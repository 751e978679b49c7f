# VT208: tries a factorial that takes hours in C.
from math import factorial

F = factorial(10**9)
