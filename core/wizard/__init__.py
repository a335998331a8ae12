"""The request wizard and the actions it saves: the steps and Send (:mod:`.steps`),
step 3's review and Apply (:mod:`.apply`), the suggesters asked and merged
(:mod:`.suggest`), the field that broke a constraint (:mod:`.constraints`), a
response's datatree (:mod:`.datatree`), learning a proven request into the user's
catalogue (:mod:`.learning`) and the saved actions (:mod:`.actions`). Uses ``curl``,
``http``, ``knowledge`` and the rooms below them."""
