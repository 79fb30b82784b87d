"""The JSON API (shared/CONTRACT.md): accounts, sessions, boards, threads, comments."""
