/* s3/ops.c — placeholder, being written */
