/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun-exporter - gridrun's jobs, as their cgroups measure them, for
 * Prometheus (exporter/README.md; what is read: exporter.h).
 *
 *   gridrun-exporter [--listen ADDR:PORT] [--state-dir DIR] [--config PATH]
 *                    [--timeout SECS] [--max-connections N]
 *   gridrun-exporter --textfile PATH [--interval SECS] [--state-dir DIR] [--config PATH]
 *
 * HTTP, on libmicrohttpd (loaded only to serve, so that a --textfile run
 * starts without it: mhd.h): GET or HEAD /metrics is the exposition (text
 * format 0.0.4), / a one-line pointer to it, any other path 404 and any
 * other method 405. ADDR is a numeric IPv4 address or [IPv6]; 127.0.0.1:9723
 * by default. Port 0 takes a free port; the address served is said on
 * stderr ("serving http://127.0.0.1:PORT/metrics").
 * --textfile writes the same exposition to PATH for node_exporter's
 * textfile collector, atomically (a temp file beside it, not ending in
 * .prom, then rename), once or every --interval seconds.
 * The state directory is --state-dir, else $GRIDRUN_STATE_DIR, else the
 * configuration's state_dir, else /run/gridrun; the configuration (for its
 * pools) is --config, else $GRIDRUN_CONFIG, else /etc/gridrun/gridrun.conf
 * if it exists.
 *
 * What a client can cost the exporter is bounded:
 *  - connections: --max-connections in all (64), a quarter of them per
 *    client address; more are accepted and closed at once.
 *  - time: a connection idle for --timeout seconds (10) is closed by
 *    libmicrohttpd; one that has not completed a request within --timeout
 *    of its start or of its last request (a client trickling bytes) is
 *    shut down by the main thread, through a dup of its socket (so a socket
 *    libmicrohttpd closed meanwhile can never be confused with a new one).
 *  - memory: 32 KiB per connection for the request (a longer request line
 *    or header gets 414/431 and the connection closes); the scrape is
 *    shared between connections, not copied.
 *  - CPU: scrapes are built one at a time, and one younger than 200 ms is
 *    served again rather than rebuilt, so a flood costs at most five
 *    scrapes a second.
 * A scrape is built whole before it is served (exporter.h): a job that ends
 * meanwhile is simply absent. A failure to build one (the state directory
 * unreadable) is a 500 with the reason, said once a minute on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exporter.h"
#include "mhd.h"
#include "util.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define REUSE_NS 200000000ull
#define CONN_MEMORY (32u << 10)
#define POOL_THREADS 2

static const char *arg_listen = "127.0.0.1:9723";
static const char *arg_state_dir;
static const char *arg_config;
static const char *arg_textfile;
static unsigned arg_interval;
static unsigned arg_timeout = 10;
static unsigned arg_max_conns = 64;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("gridrun-exporter: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void usage(FILE *out)
{
	fputs("usage: gridrun-exporter [--listen ADDR:PORT] [--state-dir DIR] [--config PATH]\n"
	      "                        [--timeout SECS] [--max-connections N]\n"
	      "       gridrun-exporter --textfile PATH [--interval SECS] [--state-dir DIR] [--config PATH]\n"
	      "       gridrun-exporter --version | --help\n"
	      "serves /metrics on 127.0.0.1:9723 by default; --textfile writes it for node_exporter\n", out);
}

struct conn {
	struct conn *prev, *next;
	int fd;                       /* our dup of the connection's socket */
	unsigned long long deadline;  /* CLOCK_MONOTONIC ns */
	bool cut;
};

struct server {
	struct gr_collector *col;
	pthread_mutex_t lock;         /* col, metrics, metrics_at, failed_at */
	struct MHD_Response *metrics; /* the last scrape: shared, our reference */
	unsigned long long metrics_at, failed_at;
	struct MHD_Response *index, *not_found, *not_allowed;
	pthread_mutex_t conns_lock;
	struct conn *conns;
};

static struct MHD_Response *text_response(const char *text, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = gr_mhd.create_response_from_buffer(len, (void *)text, mode);

	if (r && gr_mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					 mode == MHD_RESPMEM_PERSISTENT ? "text/plain; charset=utf-8"
									: CONTENT_TYPE) != MHD_YES) {
		gr_mhd.destroy_response(r);
		r = NULL;
	}
	return r;
}

static enum MHD_Result serve_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	char text[1024];
	struct MHD_Response *r;
	enum MHD_Result ret;

	snprintf(text, sizeof(text), "gridrun-exporter: %s\n", msg);
	r = gr_mhd.create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	ret = gr_mhd.queue_response(conn, status, r);
	gr_mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result serve_metrics(struct server *s, struct MHD_Connection *conn)
{
	unsigned long long now = gr_now_ns();
	enum MHD_Result ret;

	pthread_mutex_lock(&s->lock);
	if (!s->metrics || now - s->metrics_at >= REUSE_NS) {
		_cleanup_gr_error_ struct gr_error *e = NULL;
		struct MHD_Response *r = NULL;
		char *text = NULL;
		size_t len = 0;

		if (gr_collect_scrape(s->col, &text, &len, &e) < 0 ||
		    !(r = text_response(text, len, MHD_RESPMEM_MUST_FREE))) {
			if (!e)
				free(text);
			if (!s->failed_at || now - s->failed_at > 60000000000ull) {
				say("scrape: %s", e ? e->msg : "out of memory");
				s->failed_at = now;
			}
			pthread_mutex_unlock(&s->lock);
			return serve_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, e ? e->msg : "out of memory");
		}
		if (s->metrics)
			gr_mhd.destroy_response(s->metrics);
		s->metrics = r;
		s->metrics_at = gr_now_ns();
	}
	/* queued under the lock: the response cannot be replaced and freed meanwhile */
	ret = gr_mhd.queue_response(conn, MHD_HTTP_OK, s->metrics);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size, void **req)
{
	struct server *s = cls;

	(void)version;
	(void)upload_data;
	/* answered at once, before any body: libmicrohttpd then closes the connection */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return gr_mhd.queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, s->not_allowed);
	/* the first call has only the headers; answering then would close the
	 * connection, answering on the next keeps it alive for the next scrape */
	if (!*req) {
		const char *cl = gr_mhd.lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		/* a body would only be read to be thrown away */
		if ((cl && strcmp(cl, "0")) ||
		    gr_mhd.lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
			return serve_error(conn, MHD_HTTP_BAD_REQUEST, "a GET has no body");
		*req = s;
		return MHD_YES;
	}
	if (*upload_size)
		return MHD_NO;
	if (!strcmp(url, "/metrics"))
		return serve_metrics(s, conn);
	if (!strcmp(url, "/"))
		return gr_mhd.queue_response(conn, MHD_HTTP_OK, s->index);
	return gr_mhd.queue_response(conn, MHD_HTTP_NOT_FOUND, s->not_found);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;
	struct conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = gr_mhd.get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

		c = ci ? calloc(1, sizeof(*c)) : NULL;
		if (!c)
			return;
		c->fd = fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 3);
		if (c->fd < 0) {
			free(c);
			return;
		}
		c->deadline = gr_now_ns() + arg_timeout * 1000000000ull;
		pthread_mutex_lock(&s->conns_lock);
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		pthread_mutex_unlock(&s->conns_lock);
		*socket_context = c;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && c) {
		pthread_mutex_lock(&s->conns_lock);
		if (c->prev)
			c->prev->next = c->next;
		else
			s->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		pthread_mutex_unlock(&s->conns_lock);
		close(c->fd);
		free(c);
		*socket_context = NULL;
	}
}

/* A request done: the connection's next one gets --timeout again. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **req, enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	const union MHD_ConnectionInfo *ci = gr_mhd.get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *c = ci ? ci->socket_context : NULL;

	(void)req;
	(void)toe;
	if (!c)
		return;
	pthread_mutex_lock(&s->conns_lock);
	c->deadline = gr_now_ns() + arg_timeout * 1000000000ull;
	pthread_mutex_unlock(&s->conns_lock);
}

/* Shut down connections past their deadline; libmicrohttpd sees EOF and closes them. */
static void cut_overdue(struct server *s)
{
	unsigned long long now = gr_now_ns();

	pthread_mutex_lock(&s->conns_lock);
	for (struct conn *c = s->conns; c; c = c->next)
		if (!c->cut && now > c->deadline) {
			shutdown(c->fd, SHUT_RDWR);
			c->cut = true;
		}
	pthread_mutex_unlock(&s->conns_lock);
}

/* ADDR:PORT, numeric: IPv4, or IPv6 in brackets. */
static int listen_on(const char *spec, int *out, char *shown, size_t shown_len, struct gr_error **err)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(spec, ':');
	_cleanup_close_ int fd = -1;
	unsigned long port;
	char *end;
	int one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return gr_error_set(err, EINVAL, "--listen `%s`: expected ADDR:PORT", spec);
	memcpy(host, spec, colon - spec);
	host[colon - spec] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535)
		return gr_error_set(err, EINVAL, "--listen `%s`: bad port", spec);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			return gr_error_set(err, EINVAL, "--listen `%s`: not a numeric IPv6 address", spec);
		sl = sizeof(*in6);
	} else {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
			return gr_error_set(err, EINVAL, "--listen `%s`: not a numeric IPv4 address", spec);
		sl = sizeof(*in4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return gr_error_sys(err, errno, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0)
		return gr_error_sys(err, errno, "listen on `%s`", spec);
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return gr_error_sys(err, errno, "listen on `%s`", spec);
	if (ss.ss_family == AF_INET6)
		snprintf(shown, shown_len, "[%s]:%u", host + 1, ntohs(in6->sin6_port));
	else
		snprintf(shown, shown_len, "%s:%u", host, ntohs(in4->sin_port));
	*out = TAKE_FD(fd);
	return 0;
}

/* Wait up to ms for SIGTERM, SIGINT or SIGHUP (blocked); true when one came. */
static bool stop_requested(unsigned ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	return sigtimedwait(&set, NULL, &ts) > 0;
}

static int serve(struct gr_collector *col, const char *state_dir)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	static const char index_text[] = "gridrun-exporter " GR_EXPORTER_VERSION ": Prometheus metrics are at /metrics\n";
	static const char not_found[] = "not found: the metrics are at /metrics\n";
	static const char not_allowed[] = "only GET and HEAD\n";
	struct server s = { .col = col };
	struct MHD_Daemon *d;
	char shown[INET6_ADDRSTRLEN + 16];
	int fd = -1, rc = 0;
	unsigned per_ip = arg_max_conns / 4 ? arg_max_conns / 4 : 1;

	if (gr_mhd_load(&err) < 0 || listen_on(arg_listen, &fd, shown, sizeof(shown), &err) < 0) {
		say("%s", err->msg);
		return 1;
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_mutex_init(&s.conns_lock, NULL);
	s.index = text_response(index_text, strlen(index_text), MHD_RESPMEM_PERSISTENT);
	s.not_found = text_response(not_found, strlen(not_found), MHD_RESPMEM_PERSISTENT);
	s.not_allowed = text_response(not_allowed, strlen(not_allowed), MHD_RESPMEM_PERSISTENT);
	if (s.not_allowed)
		gr_mhd.add_response_header(s.not_allowed, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	d = !s.index || !s.not_found || !s.not_allowed ? NULL :
		gr_mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_request, &s,
				 MHD_OPTION_LISTEN_SOCKET, fd,
				 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)POOL_THREADS,
				 MHD_OPTION_CONNECTION_LIMIT, arg_max_conns,
				 MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
				 MHD_OPTION_CONNECTION_TIMEOUT, arg_timeout,
				 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
				 MHD_OPTION_NOTIFY_CONNECTION, on_connection, &s,
				 MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
				 MHD_OPTION_END);
	if (!d) {
		say("cannot start the HTTP server on `%s`", shown);
		close(fd);
		rc = 1;
	} else {
		say("serving http://%s/metrics for the jobs in %s", shown, state_dir);
		while (!stop_requested(250))
			cut_overdue(&s);
		gr_mhd.stop_daemon(d);
		close(fd);
	}
	gr_mhd.destroy_response(s.metrics);
	gr_mhd.destroy_response(s.index);
	gr_mhd.destroy_response(s.not_found);
	gr_mhd.destroy_response(s.not_allowed);
	return rc;
}

/* PATH replaced whole: node_exporter never reads half a scrape. */
static int write_textfile(const char *path, const char *text, size_t len, struct gr_error **err)
{
	_cleanup_free_ char *d = strdup(path), *b = strdup(path), *tmp = NULL;
	_cleanup_close_ int fd = -1;
	ssize_t w;

	/* a dot name not ending in .prom: the textfile collector skips it */
	if (!d || !b || asprintf(&tmp, "%s/.%s.%d.tmp", dirname(d), basename(b), (int)getpid()) < 0)
		return gr_error_sys(err, ENOMEM, "textfile");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return gr_error_sys(err, errno, "create `%s`", tmp);
	w = gr_write_all(fd, text, len);
	if (w < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0) {
		int e = w < 0 ? (int)-w : errno;

		unlink(tmp);
		return gr_error_sys(err, e, "write `%s`", path);
	}
	return 0;
}

static int textfile(struct gr_collector *col)
{
	for (;;) {
		_cleanup_gr_error_ struct gr_error *err = NULL;
		_cleanup_free_ char *text = NULL;
		size_t len;

		if (gr_collect_scrape(col, &text, &len, &err) < 0 ||
		    write_textfile(arg_textfile, text, len, &err) < 0) {
			if (!arg_interval) {
				say("%s", err->msg);
				return 1;
			}
			say("%s, trying again in %u s", err->msg, arg_interval);
		}
		if (!arg_interval || stop_requested(arg_interval * 1000))
			return 0;
	}
}

static bool number(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "state-dir", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' }, { "textfile", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' }, { "timeout", required_argument, NULL, 'T' },
		{ "max-connections", required_argument, NULL, 'm' }, { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'l': arg_listen = optarg; break;
		case 's': arg_state_dir = optarg; break;
		case 'c': arg_config = optarg; break;
		case 't': arg_textfile = optarg; break;
		case 'i':
			if (!number(optarg, 1, 86400, &arg_interval))
				return say("--interval: expected 1..86400 seconds"), 2;
			break;
		case 'T':
			if (!number(optarg, 1, 3600, &arg_timeout))
				return say("--timeout: expected 1..3600 seconds"), 2;
			break;
		case 'm':
			if (!number(optarg, 4, 10000, &arg_max_conns))
				return say("--max-connections: expected 4..10000"), 2;
			break;
		case 'V': printf("gridrun-exporter %s\n", GR_EXPORTER_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (arg_interval && !arg_textfile)) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* A one-shot's: left to exit to return, reachable from here for
 * LeakSanitizer (volatile: a store never read is not optimised away). */
static struct gr_collector *volatile once_col;

int main(int argc, char **argv)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	_cleanup_gr_config_ struct gr_config *cfg = NULL;
	struct gr_collector *col = NULL;
	bool once;
	const char *state_dir;
	struct rlimit rl;
	sigset_t set;
	int rc;

	rc = parse_args(argc, argv);
	if (rc >= 0)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	/* blocked before any thread exists: only the main thread takes them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* the cache keeps ~10 fds a job open (exporter.h) */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (gr_config_load_cli(arg_config, &cfg, &err) < 0) {
		say("%s", err->msg);
		return 1;
	}
	state_dir = arg_state_dir ? arg_state_dir
		    : getenv("GRIDRUN_STATE_DIR") && *getenv("GRIDRUN_STATE_DIR") ? getenv("GRIDRUN_STATE_DIR")
		    : cfg->state_dir ? cfg->state_dir : "/run/gridrun";
	if (state_dir[0] != '/') {
		say("state directory `%s` is not an absolute path", state_dir);
		return 2;
	}
	once = arg_textfile && !arg_interval;
	/* A one-shot allocates ~2 MB a 1000 jobs, most of it in its reader
	 * threads' arenas: grown 8 MiB at a time (untouched pages cost
	 * nothing), not by one mprotect() a page, which also holds the
	 * other thread's page faults up. */
	if (once)
		mallopt(M_TOP_PAD, 8 << 20);
	if (gr_collect_new(state_dir, cfg, once, &col, &err) < 0) {
		say("%s", err->msg);
		return 1;
	}
	rc = arg_textfile ? textfile(col) : serve(col, state_dir);
	/* a one-shot's ~10 allocations a job go back at exit, at once */
	if (once)
		once_col = col;
	else
		gr_collect_free(col);
	return rc;
}
