"""End-user accounts: passwords, login sessions, CSRF protection for forms."""
