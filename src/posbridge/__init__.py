"""posbridge: one API over many point-of-sale systems."""
