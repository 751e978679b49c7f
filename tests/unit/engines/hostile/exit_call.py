# VT202: tries to stop the daemon from a strategy.
exit(0)
