// SQLite 3 (Debian's libsqlite3-dev): the durable audit store, in the reference's file format.
#include <sqlite3.h>
