# VT201: tries to use the process RNG instead of the seeded ctx.random.
from random import random

NOISE = random()
