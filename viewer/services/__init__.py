"""Services: what the app does with the database, in plain Python and numpy."""
