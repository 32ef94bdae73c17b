/* routes.h - the one route table. */
#ifndef REVOPS_ROUTES_H
#define REVOPS_ROUTES_H

#include <stddef.h>

#include "http.h"

extern const http_route routes[];
extern const size_t routes_count;

#endif
