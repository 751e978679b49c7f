# VT203: tries to read the SDK module's __dict__ to find engine internals it imported.
import engines.sdk as x

INTERNALS = x.__dict__
