"""Connections: a named account with an auth type and its settings (:mod:`.model`,
secrets sealed at rest, tokens in their own table), everything but the auth settings
(:mod:`.options`: client certificate, private network and agent, TLS, timeout), TLS
contexts and client-certificate checks (:mod:`.tls`) and the OAuth2 authorization
flow (:mod:`.authorize`). Sending through a connection, Test connection included, is
the ``http`` room's. Uses ``base``, ``storage``, ``plugincore``."""
