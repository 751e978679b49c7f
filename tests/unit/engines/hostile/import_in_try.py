# VT201: tries an optional import guarded by try/except, hoping the check only looks at top level.
try:
    import requests
except Exception:
    requests = None
