"""cURL commands in and out: a pasted ``curl`` command read into a request
(:mod:`.parse`) and a request written as one, secrets masked (:mod:`.export`). Uses
``http`` and the rooms below it."""
