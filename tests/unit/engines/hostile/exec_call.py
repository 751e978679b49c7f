# VT202: tries to run statements from a string with exec.
PAYLOAD = "import os\nos.system('id')"
exec(PAYLOAD)
