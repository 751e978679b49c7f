# VT201: tries make_dataclass with a namespace of computed dunder keys (a type() in disguise).
from dataclasses import make_dataclass

Evil = make_dataclass("Evil", [], namespace={"__match" + "_args__": ("tb_frame",)})
