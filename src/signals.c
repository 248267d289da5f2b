/* SIGINT and SIGTERM for the dts command: see signals.h. */
#include "signals.h"

#include <signal.h>
#include <stddef.h>

/*
 * Process-wide state, and the one justified piece of it in dts.curl:
 * signal dispositions belong to the process, not to a Lua state or a
 * client, so what was caught and what was installed before can only live
 * here.  The handler touches nothing but a sig_atomic_t.
 */
static volatile sig_atomic_t caught;
static const int trapped[] = { SIGINT, SIGTERM };
static struct sigaction previous[2];
static int installed[2];

static void on_signal(int sig)
{
	if (caught != 0) {
		/* A second signal: the person insists, so the default action
		 * (the process ends by this signal).  Checkpoints are renamed
		 * into place, so nothing is left half written. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	caught = sig;
}

int dts_signals_trap(int on)
{
	struct sigaction sa;
	size_t i;

	for (i = 0; i < sizeof trapped / sizeof trapped[0]; i++) {
		if (!on) {
			if (installed[i] &&
			    sigaction(trapped[i], &previous[i], NULL) != 0)
				return -1;
			installed[i] = 0;
			continue;
		}
		if (installed[i])
			continue;
		if (sigaction(trapped[i], NULL, &previous[i]) != 0)
			return -1;
		if (previous[i].sa_handler == SIG_IGN)
			continue;
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		/* No SA_RESTART: a blocking poll or sleep returns with EINTR
		 * and sees the record at once. */
		sa.sa_flags = 0;
		if (sigaction(trapped[i], &sa, NULL) != 0)
			return -1;
		installed[i] = 1;
	}
	return 0;
}

int dts_signals_trapped(void)
{
	return installed[0] || installed[1];
}

int dts_signals_caught(void)
{
	return caught;
}

int dts_signals_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow,
			 curl_off_t ultotal, curl_off_t ulnow)
{
	(void)ud;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return caught != 0;
}
