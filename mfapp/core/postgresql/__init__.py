"""Django's PostgreSQL backend, writing the row-level security settings into every
transaction (see mfapp.core.rls)."""
