"""The library version, in one place so every module can read it without cycles."""

__version__ = "0.1.0"
