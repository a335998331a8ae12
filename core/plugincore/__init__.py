"""The plugin core: the contract between plugwire and its plugins, and the plugin
manager. :mod:`.hookspecs` declares every hook; :mod:`.auth`, :mod:`.triggers` and
:mod:`.suggesters` define the types plugins implement or receive (re-exported by the
``plugwire`` root, the public plugin API); :mod:`.manager` loads the entry points and
keeps the registries; :mod:`.scaffold` writes a new plugin package from
``templates/``. Uses ``base`` and ``storage``."""
