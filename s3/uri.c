/* s3/uri.c — placeholder, being written */
