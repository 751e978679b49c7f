# VT201: tries to get the real builtins module and call open through it.
import builtins

SECRETS = builtins.open("/etc/passwd").read()
