/* s3/xml.c — placeholder, being written */
