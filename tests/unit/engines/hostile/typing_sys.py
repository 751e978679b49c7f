# VT206: tries to reach sys through an allowed module's own import (typing.sys); the proxy has none.
import typing

OS = typing.sys.modules["os"]
