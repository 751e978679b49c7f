# VT201: tries to change the engine's global decimal precision from a strategy.
from decimal import getcontext

getcontext().prec = 2
