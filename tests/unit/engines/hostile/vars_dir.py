# VT202: tries to list and reach the module globals with vars() and dir().
NAMES = dir()
SCOPE = vars()
