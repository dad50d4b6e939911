/* podlaned's log: one rte_log type ("podlane", so EAL's --log-level
 * podlane:debug works) shared by control and dataplane. Lines go to
 * stderr: under systemd with a "<N>" priority prefix journald turns into
 * the entry's level, elsewhere with a UTC timestamp. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_log.h>

#include "dp.h"

RTE_LOG_REGISTER(dp_logtype, podlane, INFO);

static const char *const level_names[] = {
	[RTE_LOG_EMERG] = "emergency", [RTE_LOG_ALERT] = "alert", [RTE_LOG_CRIT] = "critical",
	[RTE_LOG_ERR] = "error",       [RTE_LOG_WARNING] = "warning",
	[RTE_LOG_NOTICE] = "notice",   [RTE_LOG_INFO] = "info", [RTE_LOG_DEBUG] = "debug",
};

static bool to_journal;

/* systemd sets JOURNAL_STREAM to the dev:inode of the stream it gave us. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	return js != NULL && sscanf(js, "%lu:%lu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	       st.st_dev == dev && st.st_ino == ino;
}

int dp_log_init(const char *level)
{
	int l = dp_log_level_parse(level);

	if (l < 0)
		return -1;
	to_journal = stderr_is_journal();
	rte_openlog_stream(stderr); /* EAL would send its own to stdout and syslog */
	rte_log_set_level(dp_logtype, (uint32_t)l);
	return 0;
}

int dp_log_level_parse(const char *name)
{
	for (unsigned l = RTE_LOG_ERR; l <= RTE_LOG_DEBUG; l++)
		if (strcmp(name, level_names[l]) == 0)
			return (int)l;
	return -1;
}

void dp_log(uint32_t level, const char *fmt, ...)
{
	char msg[1024], t[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (!rte_log_can_log(dp_logtype, level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *lv = level == RTE_LOG_INFO ? "" : level_names[level];
	const char *sep = level == RTE_LOG_INFO ? "" : ": ";
	if (to_journal) {
		rte_log(level, dp_logtype, "<%u>podlaned: %s%s%s\n", level - 1, lv, sep, msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	rte_log(level, dp_logtype, "%s.%03ldZ podlaned: %s%s%s\n", t, ts.tv_nsec / 1000000, lv, sep,
		msg);
}

bool dp_log_ratelimit(struct dp_log_limit *rl)
{
	uint64_t now = rte_get_timer_cycles(), hz = rte_get_timer_hz();

	if (now - rl->window_start >= DP_LOG_INTERVAL_S * hz) {
		if (rl->suppressed)
			dp_log(RTE_LOG_WARNING, "%u similar messages suppressed in the last %u s",
			       rl->suppressed, DP_LOG_INTERVAL_S);
		rl->window_start = now;
		rl->n = 0;
		rl->suppressed = 0;
	}
	if (rl->n < DP_LOG_BURST) {
		rl->n++;
		return true;
	}
	rl->suppressed++;
	return false;
}
