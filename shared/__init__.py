"""Code every Facegate service uses: settings, bus, subjects, messages, database, logging."""
