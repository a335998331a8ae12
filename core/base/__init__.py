"""The basics every room uses: plugwire's error types (:mod:`.errors`), the rule for
user-given names (:mod:`.names`), the clock (:mod:`.clock`), JSON text (:mod:`.jsontext`),
absolute-URL checks (:mod:`.urls`), tuning settings from the environment
(:mod:`.settings`) and secrets: sealing at rest, masking and log redaction
(:mod:`.secrets`). Uses nothing else of plugwire."""

#: plugwire's version (also in pyproject.toml); ``plugwire.__version__``.
VERSION = "0.1.0"
