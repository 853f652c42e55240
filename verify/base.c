/* verify/base.c — placeholder, being written */
