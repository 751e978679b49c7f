"""What turns a strategy file into something an engine can run, in the order a run uses them.

* :mod:`engines.strategy.sandbox`: check the file's source and load it with restricted builtins;
* :mod:`engines.strategy.declaration`: read the loaded module's ``STRATEGY`` into a checked
  :class:`~engines.strategy.declaration.StrategySpec` (type, parameters, universe);
* :mod:`engines.strategy.runtime`: the running instance an engine calls (context, order ids, routes,
  guarded calls) and what every engine's ``drain()`` returns;
* :mod:`engines.strategy.contract`: the output contract of each strategy type, checked on every call.

The SDK a strategy file imports stays :mod:`engines.sdk`.
"""
