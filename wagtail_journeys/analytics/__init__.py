"""Reports: the rollup tables kept current from the raw rows (``rollup``, ``conversions``)
and what reads them."""
