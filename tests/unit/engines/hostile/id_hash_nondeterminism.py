# VT202: tries to derive a "random" seed from hash() of a string, which differs per process.
SEED = hash("BTCUSDT") % 1000
