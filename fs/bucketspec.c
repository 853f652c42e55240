/* fs/bucketspec.c — placeholder, being written */
