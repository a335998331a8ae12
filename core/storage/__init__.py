"""Where plugwire keeps things: the data folder (:mod:`.home`), the configuration store
(connections, actions, recipes, tokens: TinyDB behind a file lock, :mod:`.store`) and
the job history (SQLite, :mod:`.jobs`; the server's writes are committed by a writer
child process, :mod:`.jobwriter` and :mod:`.jobprocess`). Uses ``base`` only."""
