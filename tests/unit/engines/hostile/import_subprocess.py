# VT201: tries to spawn a process at load time.
from subprocess import run

run(["id"], check=False)
