# VT201: tries to reach sys.modules to grab already-imported I/O modules.
import sys

socket = sys.modules["socket"]
