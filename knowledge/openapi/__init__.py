"""OpenAPI importer: OpenAPI 3.0/3.1 and Swagger 2.0 documents -> catalogue files.

``import_openapi(path)`` returns an :class:`ImportReport` with the
:class:`plugwire.knowledge.models.CatalogueFile`, how many operations were
imported, which were skipped and why, and the faults found in the data.

Modules: ``document`` (loading, ``$ref`` resolution), ``samples``/``regexgen``
(values from schemas), ``validate`` (examples against schemas), ``constraints``,
``bodies``, ``servers`` (hosts and auth hints), ``faults``, ``operations`` and
``importer``.
"""

from plugwire.knowledge.openapi.importer import ImportReport, import_openapi

__all__ = ["ImportReport", "import_openapi"]
