"""The engine: pure step logic over a Plan (``steps``, ``timing``) plus small DB helpers
(``enroll``, ``advance``, ``triggers``, ``dates``) that load and save rows in batches."""
