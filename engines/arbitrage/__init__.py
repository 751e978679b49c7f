"""The arbitrage engine: aligned snapshots in, legs out in their order, one arbitrage at a time.

* :mod:`engines.arbitrage.engine`: :class:`~engines.arbitrage.engine.ArbitrageEngine`, the sans-I/O
  engine (alignment of snapshots, the order of the legs, the leg-failure policies);
* :mod:`engines.arbitrage.legs`: each leg's size in venue units, its limit on the grid, its state.

docs/arbitrage.md is the account for users (DESIGN.md section 4).
"""
