# VT210: tries the functional API through a member-less Enum subclass, hiding the Enum name.
from enum import Enum


class Base(Enum):
    pass


Evil = Base("Evil", [("A", 1)])
