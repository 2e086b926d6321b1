"""Business rules shared by the admin, the public pages and the API (one copy each)."""
