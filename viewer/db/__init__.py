"""Database layer: settings, the embedded server, models, engines, schema checks."""
