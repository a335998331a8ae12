"""Talking to APIs: one client per connection (:mod:`.client`), sending a request (:mod:`.send`) and
recording the whole exchange with secrets masked (:mod:`.capture`, :mod:`.exchange`),
request and response bodies (:mod:`.body`), what went wrong said plainly
(:mod:`.outcomes`), retries (:mod:`.retry`), the network policy on every hop
(:mod:`.netpolicy`) and Test connection (:mod:`.testconn`). Uses ``connections`` and
the rooms below it."""
