// zlib from Debian's zlib1g-dev (pkg-config zlib).
#include <zlib.h>
