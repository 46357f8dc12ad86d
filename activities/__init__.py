"""Activities and the database layer they (and the API's reads) share."""
