"""The simulated venue behind the ports: what paper mode trades against, and market data replayed
from a recording. No network: the matching is :class:`engines.sim.venue.SimVenue`."""
