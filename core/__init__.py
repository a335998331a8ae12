"""The engine of plugwire, in rooms. It knows no auth type, trigger or endpoint by
name: those come from plugins.

The engine's rooms, from the bottom up (a room may use the rooms below it, never
one above; ``knowledge`` (``plugwire.knowledge``) sits between ``plugincore`` and
``connections``):

- ``base``: errors, user-given names, the clock, JSON text, URL checks, secrets (sealing, masking, log redaction)
- ``storage``: the data folder, the configuration store (TinyDB) and the job history (SQLite, its writer process)
- ``plugincore``: the plugin contract (hook specs; the auth, trigger and suggester types) and the plugin manager; plugin scaffolds
- ``connections``: a connection's model, options, TLS and OAuth2 authorization
- ``http``: a connection's client, sending a request, bodies, the exchange record, outcomes, retries, the network policy, Test connection
- ``curl``: cURL commands in and out
- ``wizard``: the request wizard's steps and Apply, suggestions, constraints, datatrees, learning, saved actions
- ``recipes``: recipes, datapills, the step runner, polls

The front doors use the engine and are never used by it: ``cli`` (the ``plugwire``
command), ``server`` (``plugwire serve``), ``web`` (the console), ``testing`` (the
pytest plugin and helpers for plugin authors). The layers are kept by the
import-linter contracts in pyproject.toml (tests/test_layers.py).
"""
