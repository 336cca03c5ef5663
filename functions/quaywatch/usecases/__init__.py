"""Use cases: one plain function per thing the service does, taking the services (ports and
domain objects) and plain inputs. Handlers parse events and call exactly one of these; the
same functions run under Lambda, ``serve`` and the tests."""
