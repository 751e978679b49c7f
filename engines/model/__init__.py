"""The event model: every fact and every command as frozen msgspec structs, and their codec.

* :mod:`engines.model.enums`: sides, order types, time in force and the other shared enumerations;
* :mod:`engines.model.instruments`: symbols and instrument specs (events carry them);
* :mod:`engines.model.events`: the facts the journal stores, in one tagged union;
* :mod:`engines.model.commands`: what engines ask a venue to do;
* :mod:`engines.model.codec`: JSON and msgpack for both, and the conversions between records.
"""
