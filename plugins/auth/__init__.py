"""Built-in auth types, one module (one plugin) each."""
