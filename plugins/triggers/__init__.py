"""The built-in trigger types: ``scheduler`` and ``webhook``."""
