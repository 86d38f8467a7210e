"""Integrations with training frameworks, one module each, importing its framework lazily.

Importing ``hypertuner`` or this package imports no framework; importing one of these
modules imports its own:

- ``hypertuner.integrations.keras``: ``HypertunerCallback`` for Keras 3 ``model.fit()``.
- ``hypertuner.integrations.lightgbm``: ``hypertuner_callback()`` for ``lightgbm.train``.
- ``hypertuner.integrations.lightning``: ``HypertunerLogger``, a Lightning ``Trainer`` logger.
- ``hypertuner.integrations.transformers``: ``HypertunerCallback`` for the HF ``Trainer``.
- ``hypertuner.integrations.xgboost``: ``HypertunerCallback`` for ``xgboost.train``.

Each writes to a :class:`hypertuner.Logger` run, in one process only when training is
distributed (see each module).
"""
