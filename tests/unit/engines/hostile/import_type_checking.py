# VT201: tries to hide an import behind TYPE_CHECKING, which is never true at run time.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import os
