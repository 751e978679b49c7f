# VT202: tries to read a file at load time.
with open("/etc/passwd") as fh:
    USERS = fh.read()
