/*
 * RFC 9110's tchar, the bytes of a token (a header name), as a table built
 * by the compiler: the signer (src/sign.c) and dts.curl (src/lua_curl.c)
 * judge header names by the same rule.
 */
#ifndef DTS_TCHAR_H
#define DTS_TCHAR_H

#define DTS_TCHAR_(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') || \
		  ((c) >= '0' && (c) <= '9') || (c) == '!' || (c) == '#' || \
		  (c) == '$' || (c) == '%' || (c) == '&' || (c) == '\'' || \
		  (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || \
		  (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define DTS_T4_(c) DTS_TCHAR_(c), DTS_TCHAR_((c) + 1), DTS_TCHAR_((c) + 2), \
		  DTS_TCHAR_((c) + 3)
#define DTS_T16_(c) DTS_T4_(c), DTS_T4_((c) + 4), DTS_T4_((c) + 8), DTS_T4_((c) + 12)
#define DTS_T64_(c) DTS_T16_(c), DTS_T16_((c) + 16), DTS_T16_((c) + 32), \
		  DTS_T16_((c) + 48)

/* Non-zero for the bytes a token may hold. */
static const unsigned char DTS_IS_TCHAR[256] = {
	DTS_T64_(0), DTS_T64_(64), DTS_T64_(128), DTS_T64_(192)
};

#undef DTS_T64_
#undef DTS_T16_
#undef DTS_T4_
#undef DTS_TCHAR_

#endif
