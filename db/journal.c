/* db/journal.c — placeholder, being written */
