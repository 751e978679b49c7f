"""The sandboxed strategy loader: check a strategy's source, then run it with restricted builtins.

A strategy file is user code that must behave the same on every replay and in live trading. This
package refuses, before anything runs, the constructs that would make it do I/O, read the wall clock
or an unseeded random source, or reach the interpreter's internals; it then executes the module body
with a restricted ``__builtins__`` and a deterministic step budget, and wraps every failure in a
typed :class:`~engines.strategy.sandbox.violations.SandboxViolation` naming the file and line.

**This is a guardrail for correctness and determinism, not an OS security boundary.** CPython cannot
confine hostile code from inside the same process; a determined attacker will find a gap. Run code
you do not trust in an OS sandbox (a container, a VM, seccomp, a separate unprivileged user).

The loader takes source *text* (or bytes), never a path: ``engines/`` does no I/O, so the daemon reads
the file and passes what it read. Layers, in order (docs/sandbox.md has the full tables):

1. decode (UTF-8 only) and parse; a syntax error is ``VT204`` with its line;
2. a static check of the whole tree (imports anywhere, forbidden names, dunder and frame attributes,
   ``str.format`` attribute traversal, oversized constant arithmetic, suspicious strings);
3. instrumentation: a budget tick at the top of every loop body, function body, lambda and
   comprehension, so a budget that ran out stays run out even if the code swallows the exception;
4. execution under ``sys.settrace`` with a line/call budget and a call-depth limit (both counted, never
   timed), with ``__builtins__`` built from an allow-list and an ``__import__`` that hands out filtered
   proxies of the allow-listed modules only;
5. an audit of the annotations the module's classes ended up with (typing and msgspec ``eval`` string
   annotations later), which also sees strings the module computed.

The package, one module per layer: :mod:`~engines.strategy.sandbox.policy` (the allow-lists and
deny-lists), :mod:`~engines.strategy.sandbox.violations` (the typed errors, VT200-VT210),
:mod:`~engines.strategy.sandbox.source` (layer 1), :mod:`~engines.strategy.sandbox.checker` and
:mod:`~engines.strategy.sandbox.folding` (layer 2), :mod:`~engines.strategy.sandbox.budget`
(layers 3 and 4's budget) and :mod:`~engines.strategy.sandbox.runtime` (layers 4 and 5, and
:func:`~engines.strategy.sandbox.runtime.load_module`).
"""
