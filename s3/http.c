/* s3/http.c — placeholder, being written */
