"""Recipes and their runs: recipes (:mod:`.model`), datapills checked at save and
filled at run time (:mod:`.datapills`), the runner of a job's steps (:mod:`.runner`)
and one poll of a polling trigger (:mod:`.polling`). The job history they write is
``storage``'s; the server drives them. Uses ``wizard`` and the rooms below it."""
