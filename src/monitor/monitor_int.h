/* monitor: what only src/monitor/ sees. */
#ifndef DC_MONITOR_INT_H
#define DC_MONITOR_INT_H

#include "monitor.h"

/* Bytes of one value's canonical text (a LONGBLOB's hex is twice its size;
 * rows beyond this are refused, naming the column). */
#define DC_MONITOR_MAX_VALUE_BYTES ((size_t)1 << 31)
/* Keys listed by default, and differing ranges whose keys are looked up. */
#define DC_MONITOR_MAX_KEYS 1000
#define DC_MONITOR_MAX_KEY_RANGES 100
/* Ranges one check holds (a range is 48 bytes). */
#define DC_MONITOR_MAX_RANGES ((size_t)1 << 26)

#endif /* DC_MONITOR_INT_H */
