/* verify/etag.c — placeholder, being written */
