/* s3/sigv4.c — placeholder, being written */
