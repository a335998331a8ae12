"""The built-in plugins. Each module registers through the ``plugwire`` entry-point
group in pyproject.toml, exactly as a third-party plugin would."""
