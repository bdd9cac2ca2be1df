"""Receipt & invoice workbench: read documents offline, validate, review and export bookkeeping rows."""
