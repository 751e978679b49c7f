# VT201: tries to import an engine internal instead of the SDK, to fake fills.
from engines import orders
