/* s3/errmap.c — placeholder, being written */
