#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H
#include <curl/curl.h>
/* Typed wrappers for libcurl's variadic calls live here (ccurl_ prefix). */
#endif
