/* The one place the version of lua-dts is written (Lua reads dts.core._VERSION). */
#ifndef DTS_VERSION
#define DTS_VERSION "0.2.0"
#endif
