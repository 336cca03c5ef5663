"""Email: who gets which mail (members' preferences, email channels), the messages (HTML with
a plain-text part) and the signed unsubscribe links that work without logging in."""
