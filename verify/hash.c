/* verify/hash.c — placeholder, being written */
