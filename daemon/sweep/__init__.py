"""Parameter sweeps and walk-forward tests: many replays of one strategy, run as Ray tasks (docs/sweep.md)."""
