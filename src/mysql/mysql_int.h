/* Internal to src/mysql/: the connection object. */
#ifndef DC_MYSQL_INT_H
#define DC_MYSQL_INT_H

#include "mysql.h"

#include <mysql.h>

struct dc_mysql {
    MYSQL *c;                   /* libmariadb's handle (owned) */
    MYSQL_RES *res;             /* the result being streamed, NULL when none */
    char *user, *host, *db;     /* from the URL (malloc'd) */
    unsigned port;              /* from the URL, 3306 by default */
    bool mariadb;               /* the server says MariaDB */
    char where[512];            /* "user@host:port" for messages */
};

#endif /* DC_MYSQL_INT_H */
