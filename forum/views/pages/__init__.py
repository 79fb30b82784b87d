"""Server-rendered pages (Jinja2): read, post, edit, move and delete in a browser."""
