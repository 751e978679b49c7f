"""The simulated venue: pure, deterministic matching of orders against recorded market data.

:class:`engines.sim.venue.SimVenue` is the venue replay and paper trading run against; its module
docstring summarises the rules and docs/sim.md states each with worked numbers. The other modules
are its parts (reject rules, reservations, matching, fees, the KRX day tape, injected rejects).
The market rules it applies (tick grids, KRX limits and sessions) are :mod:`engines.markets`.
"""
