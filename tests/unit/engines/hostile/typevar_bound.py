# VT203: tries to hide a computed string in a TypeVar bound used by an annotation.
from typing import Generic, TypeVar

T = TypeVar("T", bound="(lambda: 0).__glo" + "bals__")


class Holder(Generic[T]):
    item: T
