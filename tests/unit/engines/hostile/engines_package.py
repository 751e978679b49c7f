# VT201: tries to import the engines package itself and walk to its internals.
import engines

ledger = engines.ledger
