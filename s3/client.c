/* s3/client.c — placeholder, being written */
