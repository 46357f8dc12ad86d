"""Published events: the ordered feed, the live stream and the message catalog."""
