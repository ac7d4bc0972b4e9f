"""Site tracking: visitor ids, the page-view hook, the beacon and form submissions."""
