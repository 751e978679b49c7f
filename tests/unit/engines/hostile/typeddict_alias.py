# VT210: tries to alias TypedDict under another name to call its functional form unseen.
from typing import TypedDict as TD

make = TD
Row = make("Row", {"x": "().__class__"})
