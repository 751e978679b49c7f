"""The order state machine (DESIGN.md sections 5 and 8).

* :mod:`engines.orders.table`: the statuses, the triggers and the table of legal transitions;
* :mod:`engines.orders.order`: one order as the fold of its events, moved by the table;
* :mod:`engines.orders.book`: the order book, folded in two phases (check, then commit).
"""
