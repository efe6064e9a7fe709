// libpq (Debian's libpq-dev): the shared store of a sidecar fleet on PostgreSQL (docs/deployment.md).
#include <libpq-fe.h>
