// Contract stub: the CLI engineer replaces this file.
throw new Error('breakwater-gateway: not built yet');
