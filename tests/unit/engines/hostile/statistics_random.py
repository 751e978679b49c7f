# VT206: tries to reach the process RNG through statistics.random; the proxy hides module attributes.
import statistics

NOISE = statistics.random.random()
