/* Internal to src/json/: what the parser and the writer share. */
#ifndef DC_JSON_INT_H
#define DC_JSON_INT_H

#include <locale.h>

/* The C locale, so that '.' is the decimal point whatever setlocale did;
 * created once (json_write.c). (locale_t)0 if it could not be created. */
locale_t dc_json_c_locale(void);

#endif
