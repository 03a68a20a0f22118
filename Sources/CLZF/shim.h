// Debian's liblzf-dev installs lzf.h under /usr/include/liblzf (pkg-config liblzf adds that path).
#include <lzf.h>
