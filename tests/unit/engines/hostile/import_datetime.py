# VT201: tries to read the wall clock through datetime.now().
from datetime import datetime

TODAY = datetime.now()
