/* s3/config.c — placeholder, being written */
