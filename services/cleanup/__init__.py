"""cleanup: deletes data past its retention (planned; see README)."""
