"""The endpoint catalogue: its format, where it is loaded from, the index that
matches a method and URL to known endpoints, and the suggestions built from them.

Modules: ``models`` (the file format), ``loader`` (reading and validating files),
``sources`` (built-in, contrib, plugin and user catalogues and their conflict rule),
``index``/``match`` (URL normalisation and matching), ``user`` (learning proven
configurations), ``prefill`` (connection defaults from auth hints).
"""
