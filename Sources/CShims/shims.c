#include "CShims.h"
#include <openssl/rand.h>

int capgate_random_bytes(unsigned char *buf, int len) { return RAND_bytes(buf, len); }
