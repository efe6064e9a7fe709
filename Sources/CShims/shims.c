#include "CShims.h"
#include <openssl/rand.h>
#include <stdio.h>

int capgate_random_bytes(unsigned char *buf, int len) { return RAND_bytes(buf, len); }

int capgate_format_fixed(char *buf, size_t size, int places, double value) {
    return snprintf(buf, size, "%.*f", places, value);
}
