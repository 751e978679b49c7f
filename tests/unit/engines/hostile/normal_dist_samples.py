# VT203: tries to draw unseeded random numbers through statistics.NormalDist.samples.
from statistics import NormalDist

NOISE = NormalDist(0, 1).samples(3)
