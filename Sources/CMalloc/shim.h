// glibc's malloc tuning (mallopt), which the Glibc module does not export.
#ifdef __linux__
#include <malloc.h>
#endif
