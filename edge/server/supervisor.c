/*
 * supervisor.c - --workers N: the parent process. It forks N workers, each a full edge of its own
 * (edge id "{edge-id}-w{k}", its own broker sessions, its own SO_REUSEPORT listeners, the host's
 * one inbox file shared), restarts a worker that dies (backoff 0.5 s doubling to 30 s, reset after
 * a minute of life), forwards SIGTERM/SIGINT and SIGHUP, and leaves once all workers are gone.
 * Owns: the workers' pids and the shared board (board.c). Must not: serve anything itself — no
 * sockets, no broker, no store: a supervisor that does nothing else has nothing to crash on.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "mqedge/base/log.h"
#include "mqedge/wire/topics.h"
#include "server.h"
#include "supervisor.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000
#define HEALTHY_RUN_MS 60000		/* a worker that lived this long starts again at the first backoff */
#define STOP_KILL_AFTER_MS 10000	/* workers stop within 5 s (server.c); then SIGKILL */

struct worker {
	pid_t pid;		/* 0: not running */
	int64_t started_ms;	/* monotonic */
	int64_t restart_at_ms;	/* when not running and not stopping */
	unsigned backoff_ms;
	bool ever_posted;	/* it started once: a later death is a crash, not a start-up failure */
	int last_status;
};

struct supervisor {
	struct edge_config *cfg;
	struct board *board;
	struct worker *workers;
	unsigned n;
	int signal_fd;
	bool stopping;
	int64_t kill_at_ms;
	int exit_code;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child: become worker k and run the edge; never returns. */
static void run_worker(struct supervisor *sv, unsigned k, pid_t parent)
{
	struct edge_config *cfg = sv->cfg;
	char id[TOPICS_ID_MAX + 1];
	int rc;

	close(sv->signal_fd);
	/* a worker must not outlive its supervisor (SIGKILLed): its listeners would keep the port */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
		_exit(1);
	snprintf(id, sizeof(id), "%s-w%u", cfg->edge_id, k);
	free(cfg->edge_id);
	cfg->edge_id = strdup(id);
	if (!cfg->edge_id)
		_exit(1);
	cfg->worker_index = (int)k;
	log_set_worker((int)k);
	rc = server_run(cfg, sv->board);
	config_free(cfg);
	_exit(rc);
}

static int start_worker(struct supervisor *sv, unsigned k)
{
	struct worker *w = &sv->workers[k];
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("worker_fork_failed", "worker=%u errno=%d", k, errno);
		return -1;
	}
	if (pid == 0)
		run_worker(sv, k, parent);
	board_set_pid(sv->board, k, pid, w->started_ms != 0);
	w->pid = pid;
	w->started_ms = mono_ms();
	log_info("worker_started", "worker=%u pid=%d", k, (int)pid);
	return 0;
}

static void signal_workers(struct supervisor *sv, int sig)
{
	for (unsigned k = 0; k < sv->n; k++)
		if (sv->workers[k].pid > 0)
			kill(sv->workers[k].pid, sig);
}

static void begin_stop(struct supervisor *sv, const char *why, int exit_code)
{
	if (!sv->stopping) {
		log_info("supervisor_stopping", "reason=%s", why);
		sv->stopping = true;
		sv->kill_at_ms = mono_ms() + STOP_KILL_AFTER_MS;
	}
	if (exit_code)
		sv->exit_code = exit_code;
	signal_workers(sv, SIGTERM);
}

static void on_worker_exit(struct supervisor *sv, pid_t pid, int status)
{
	struct board_view v;
	char none[1];
	unsigned k;

	for (k = 0; k < sv->n && sv->workers[k].pid != pid; k++)
		;
	if (k == sv->n)
		return;
	struct worker *w = &sv->workers[k];
	int64_t lived = mono_ms() - w->started_ms;

	board_read(sv->board, k, &v, none, 0);
	w->ever_posted |= v.posted_ms != 0;
	w->pid = 0;
	w->last_status = status;
	board_set_pid(sv->board, k, 0, false);
	if (WIFSIGNALED(status))
		log_at(sv->stopping ? LOG_INFO : LOG_ERROR, "worker_exited", "worker=%u pid=%d signal=%d lived_ms=%lld", k,
		       (int)pid, WTERMSIG(status), (long long)lived);
	else
		log_at(sv->stopping ? LOG_INFO : LOG_ERROR, "worker_exited", "worker=%u pid=%d status=%d lived_ms=%lld", k,
		       (int)pid, WEXITSTATUS(status), (long long)lived);
	if (sv->stopping) {
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			sv->exit_code = 1;
		return;
	}
	if (!w->ever_posted) {
		/* its first start failed (a port taken, a bad key): the others would fail alike */
		log_error("startup_failed", "reason=\"worker %u did not start (see its lines above)\"", k);
		begin_stop(sv, "worker_start_failed", 1);
		return;
	}
	w->backoff_ms = lived >= HEALTHY_RUN_MS || !w->backoff_ms ? BACKOFF_FIRST_MS
		      : w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
	w->restart_at_ms = mono_ms() + w->backoff_ms;
	log_info("worker_restart_scheduled", "worker=%u in_ms=%u", k, w->backoff_ms);
}

static void reap(struct supervisor *sv)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		on_worker_exit(sv, pid, status);
}

static bool any_running(const struct supervisor *sv)
{
	for (unsigned k = 0; k < sv->n; k++)
		if (sv->workers[k].pid > 0)
			return true;
	return false;
}

/* ms until the next thing to do: a restart, or the stop's SIGKILL; -1 for none. */
static int next_timeout(const struct supervisor *sv)
{
	int64_t now = mono_ms(), next = -1;

	if (sv->stopping) {
		next = sv->kill_at_ms;
	} else {
		for (unsigned k = 0; k < sv->n; k++)
			if (!sv->workers[k].pid && (next < 0 || sv->workers[k].restart_at_ms < next))
				next = sv->workers[k].restart_at_ms;
	}
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

static void on_signals(struct supervisor *sv)
{
	struct signalfd_siginfo si;

	while (read(sv->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(sv);
			break;
		case SIGHUP:
			log_info("supervisor_reload", "workers=%u", sv->n);
			signal_workers(sv, SIGHUP);
			break;
		default:
			begin_stop(sv, si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM", 0);
			break;
		}
	}
}

int supervisor_run(struct edge_config *cfg)
{
	struct supervisor sv = { .cfg = cfg, .n = (unsigned)cfg->n_workers, .signal_fd = -1 };
	sigset_t set;
	char err[512];

	if (server_check_config(cfg, err, sizeof(err))) {
		log_error("startup_failed", "reason=\"%s\"", err);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	sv.board = board_create(sv.n);
	sv.workers = calloc(sv.n, sizeof(*sv.workers));
	if (!sv.board || !sv.workers || sigprocmask(SIG_BLOCK, &set, NULL) ||
	    (sv.signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_error("startup_failed", "reason=\"supervisor: %s\"", strerror(errno));
		sv.exit_code = 1;
		goto out;
	}
	log_info("supervisor_started", "pid=%d workers=%u edge=%s", (int)getpid(), sv.n, cfg->edge_id);
	for (unsigned k = 0; k < sv.n; k++)
		if (start_worker(&sv, k)) {
			begin_stop(&sv, "fork_failed", 1);
			break;
		}
	while (!sv.stopping || any_running(&sv)) {
		struct pollfd pfd = { sv.signal_fd, POLLIN, 0 };
		int timeout = next_timeout(&sv);

		if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
			log_error("supervisor_poll_failed", "errno=%d", errno);
			begin_stop(&sv, "poll_failed", 1);
		}
		on_signals(&sv);
		int64_t now = mono_ms();

		if (sv.stopping && now >= sv.kill_at_ms && any_running(&sv)) {
			log_error("workers_killed", "reason=\"not stopped within %d ms\"", STOP_KILL_AFTER_MS);
			signal_workers(&sv, SIGKILL);
			sv.kill_at_ms = now + STOP_KILL_AFTER_MS;
			sv.exit_code = 1;
		}
		for (unsigned k = 0; !sv.stopping && k < sv.n; k++)
			if (!sv.workers[k].pid && now >= sv.workers[k].restart_at_ms && start_worker(&sv, k))
				sv.workers[k].restart_at_ms = now + BACKOFF_MAX_MS;
	}
	log_info("supervisor_stopped", "exit=%d", sv.exit_code);
out:
	if (sv.signal_fd >= 0)
		close(sv.signal_fd);
	free(sv.workers);
	board_destroy(sv.board);
	return sv.exit_code;
}
