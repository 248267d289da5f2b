/*
 * SIGINT and SIGTERM for the dts command (plain Lua only; never in nginx,
 * which owns its signals).  Plain Lua cannot catch SIGTERM, and the
 * interpreter's own SIGINT hook fires only between Lua instructions, so a
 * blocking libcurl call or a sleep would hold it up.  Instead a handler
 * records the signal; libcurl's progress callback and dts.curl's sleep see
 * the record and return early, and the Lua layer asks for it between steps
 * and stops cleanly (no traceback, nothing half written).
 */
#ifndef DTS_SIGNALS_H
#define DTS_SIGNALS_H

#include <curl/curl.h>

/* on: install the handlers (a signal ignored at that moment, as nohup
 * does for SIGHUP, stays ignored); off: put back what was there.  0, or
 * -1 with errno set. */
int dts_signals_trap(int on);
/* Whether the handlers are in (dts.curl then asks libcurl for progress
 * calls, to end a transfer early). */
int dts_signals_trapped(void);
/* The signal caught since the handlers went in, 0 when none. */
int dts_signals_caught(void);
/* CURLOPT_XFERINFOFUNCTION: non-zero (abort the transfer) once a signal
 * was caught. */
int dts_signals_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow,
			 curl_off_t ultotal, curl_off_t ulnow);

#endif
