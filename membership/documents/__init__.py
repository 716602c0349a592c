"""Documents the app writes for people to keep: PDF statements (pdf.py) and their fonts."""
