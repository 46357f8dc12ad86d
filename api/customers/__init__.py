"""The Customer API: register, update, read and find customers, and their events."""
