# VT202: tries to read stdin at load time, which blocks an unattended daemon.
SYMBOL = input("symbol? ")
