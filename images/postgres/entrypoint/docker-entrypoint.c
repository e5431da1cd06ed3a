/*
 * docker-entrypoint: the official postgres image's entrypoint interface without a shell.
 * Part of ARMORRED's postgres image (images/postgres, docs/images/postgres.md).
 *
 * As `docker-entrypoint [ARGS...]` (the image's ENTRYPOINT, CMD ["postgres"]):
 *   - arguments starting with '-' get `postgres` prepended;
 *   - for `postgres ...` (and not --help, -V, --version, --describe-config, -C): PGDATA (default
 *     /var/lib/postgresql/data) is created 0700; when it has no PG_VERSION the cluster is made:
 *     POSTGRES_PASSWORD is required unless POSTGRES_HOST_AUTH_METHOD=trust; initdb
 *     --username=$POSTGRES_USER (default postgres) --pwfile (the password through a pipe)
 *     [--waldir=$POSTGRES_INITDB_WALDIR] $POSTGRES_INITDB_ARGS (split at blanks); pg_hba.conf
 *     gains `host all all all $POSTGRES_HOST_AUTH_METHOD` (default scram-sha-256); a temporary
 *     server (no TCP) runs POSTGRES_DB's CREATE DATABASE (default $POSTGRES_USER, unless it
 *     exists) and every .sql and .sql.gz file of /docker-entrypoint-initdb.d in name order with
 *     `psql -v ON_ERROR_STOP=1`; any other file there is an error (no shell runs *.sh); the
 *     temporary server is stopped (SIGINT, fast shutdown);
 *   - then the command is exec'd (PATH search). Every VAR above may be given as VAR_FILE.
 *
 * As `sh -c COMMAND` (linked at /bin/sh): PostgreSQL's tools run their helpers through
 * popen()/system(), which always call `/bin/sh -c`: initdb runs `"postgres" -V`,
 * `"postgres" --boot ...`, `"postgres" --check ... < "/dev/null" > "/dev/null" 2>&1`. This is
 * not a shell: it runs exactly one command, words quoted with '...', "..." or a backslash,
 * redirections <, >, >>, 2>&1, N>FILE, and an optional leading `exec`. Anything else a shell
 * would interpret ($, `, |, &, ;, (, ), globs, ~, #, {, }) is refused with exit status 127
 * before anything runs, so no variable, pipe, list or substitution is ever executed.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_WORDS 256
#define MAX_REDIRS 16
#define MAX_ENV_FILE (1 << 20)

static const char *prog = "docker-entrypoint";

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---------------------------------------------------------------- sh -c */

struct redir {
	int fd;      /* the descriptor redirected */
	int flags;   /* open flags, or -1 for a dup */
	int dup_of;  /* for 2>&1 */
	char *path;
};

static int sh_refuse(const char *cmd, const char *why)
{
	fprintf(stderr, "sh: refused (%s): %s\n", why, cmd);
	fprintf(stderr, "sh: this image has no shell; /bin/sh runs one command with redirections only\n");
	return 127;
}

/* Reads one word at *p into a fresh string; NULL and *err set when it holds shell syntax. */
static char *sh_word(const char **p, const char **err)
{
	const char *s = *p;
	size_t cap = strlen(s) + 1, n = 0;
	char *out = malloc(cap);
	if (!out) {
		*err = "out of memory";
		return NULL;
	}
	while (*s && !isspace((unsigned char)*s) && *s != '<' && *s != '>') {
		if (*s == '\'') {
			const char *e = strchr(s + 1, '\'');
			if (!e) {
				*err = "unterminated '";
				goto bad;
			}
			memcpy(out + n, s + 1, (size_t)(e - s - 1));
			n += (size_t)(e - s - 1);
			s = e + 1;
		} else if (*s == '"') {
			s++;
			while (*s && *s != '"') {
				if (*s == '$' || *s == '`') {
					*err = "expansion inside \"...\"";
					goto bad;
				}
				if (*s == '\\' && s[1] && strchr("$`\"\\", s[1]))
					s++;
				out[n++] = *s++;
			}
			if (*s != '"') {
				*err = "unterminated \"";
				goto bad;
			}
			s++;
		} else if (*s == '\\') {
			if (!s[1]) {
				*err = "trailing backslash";
				goto bad;
			}
			out[n++] = s[1];
			s += 2;
		} else if (strchr("$`|&;()*?[]~#{}!", *s)) {
			*err = "shell syntax";
			goto bad;
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = 0;
	*p = s;
	return out;
bad:
	free(out);
	return NULL;
}

static int sh_main(int argc, char **argv)
{
	/* glibc's popen() and system() call `sh -c -- COMMAND`. */
	int at = argc == 4 && strcmp(argv[2], "--") == 0 ? 3 : 2;
	if (argc != at + 1 || strcmp(argv[1], "-c") != 0) {
		fprintf(stderr, "sh: only `sh -c COMMAND` is supported (this image has no shell)\n");
		return 127;
	}
	const char *cmd = argv[at], *p = cmd, *err = NULL;
	char *words[MAX_WORDS + 1];
	struct redir redirs[MAX_REDIRS];
	int nw = 0, nr = 0;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		int fd = -1;
		if (isdigit((unsigned char)p[0]) && p[1] == '>') {
			fd = p[0] - '0';
			p++;
		}
		if (*p == '<' || *p == '>') {
			if (nr == MAX_REDIRS)
				return sh_refuse(cmd, "too many redirections");
			struct redir *r = &redirs[nr++];
			r->dup_of = -1;
			r->path = NULL;
			if (*p == '<') {
				r->fd = fd < 0 ? 0 : fd;
				r->flags = O_RDONLY;
				p++;
			} else if (p[1] == '>') {
				r->fd = fd < 0 ? 1 : fd;
				r->flags = O_WRONLY | O_CREAT | O_APPEND;
				p += 2;
			} else {
				r->fd = fd < 0 ? 1 : fd;
				r->flags = O_WRONLY | O_CREAT | O_TRUNC;
				p++;
			}
			if (*p == '&') {
				if (!isdigit((unsigned char)p[1]) || (p[2] && !isspace((unsigned char)p[2])))
					return sh_refuse(cmd, "bad descriptor duplication");
				r->dup_of = p[1] - '0';
				r->flags = -1;
				p += 2;
				continue;
			}
			while (isspace((unsigned char)*p))
				p++;
			r->path = sh_word(&p, &err);
			if (!r->path)
				return sh_refuse(cmd, err);
			if (!*r->path)
				return sh_refuse(cmd, "redirection without a file");
			continue;
		}
		if (fd >= 0)
			p--; /* a word that starts with a digit */
		if (nw == MAX_WORDS)
			return sh_refuse(cmd, "too many words");
		char *w = sh_word(&p, &err);
		if (!w)
			return sh_refuse(cmd, err);
		if (!(nw == 0 && strcmp(w, "exec") == 0))
			words[nw++] = w;
	}
	words[nw] = NULL;
	if (nw == 0)
		return 0;
	for (int i = 0; i < nr; i++) {
		struct redir *r = &redirs[i];
		int fd;
		if (r->flags < 0) {
			fd = dup2(r->dup_of, r->fd);
		} else {
			fd = open(r->path, r->flags | O_CLOEXEC, 0666);
			if (fd >= 0 && fd != r->fd) {
				if (dup2(fd, r->fd) < 0)
					fd = -1;
			}
		}
		if (fd < 0) {
			fprintf(stderr, "sh: %s: %s\n", r->path ? r->path : "dup", strerror(errno));
			return 1;
		}
	}
	execvp(words[0], words);
	fprintf(stderr, "sh: %s: %s\n", words[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

/* ---------------------------------------------------------------- entrypoint */

/* VAR or the contents of the file VAR_FILE names (trailing newlines dropped), or def. */
static char *file_env(const char *var, const char *def)
{
	char fvar[128];
	snprintf(fvar, sizeof fvar, "%s_FILE", var);
	const char *v = getenv(var), *f = getenv(fvar);
	if (v && *v && f && *f)
		die("both %s and %s are set (but are exclusive)", var, fvar);
	if (f && *f) {
		FILE *fp = fopen(f, "re");
		if (!fp)
			die("%s: cannot open %s: %s", fvar, f, strerror(errno));
		char *buf = malloc(MAX_ENV_FILE + 1);
		if (!buf)
			die("out of memory");
		size_t n = fread(buf, 1, MAX_ENV_FILE + 1, fp);
		fclose(fp);
		if (n > MAX_ENV_FILE)
			die("%s: %s is larger than %d bytes", fvar, f, MAX_ENV_FILE);
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		buf[n] = 0;
		setenv(var, buf, 1);
		unsetenv(fvar);
		return buf;
	}
	if (v && *v)
		return strdup(v);
	if (def)
		setenv(var, def, 1);
	return def ? strdup(def) : NULL;
}

static int run_wait(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	}
	return st;
}

/* Runs argv (PATH search) with stdin from in_fd (or inherited when < 0); dies on failure. */
static void run(char *const argv[], int in_fd, const char *what)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (in_fd >= 0) {
			dup2(in_fd, 0);
			close(in_fd);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "%s: %s: %s\n", prog, argv[0], strerror(errno));
		_exit(127);
	}
	if (in_fd >= 0)
		close(in_fd);
	int st = run_wait(pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s failed (%s %d)", what, WIFEXITED(st) ? "exit status" : "signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static int want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-?") || !strcmp(a, "--help") || !strcmp(a, "--describe-config") ||
			!strcmp(a, "-V") || !strcmp(a, "--version") || !strncmp(a, "-C", 2))
			return 1;
	}
	return 0;
}

static char *path_join(const char *a, const char *b)
{
	char *s;
	if (asprintf(&s, "%s/%s", a, b) < 0)
		die("out of memory");
	return s;
}

/* The postmaster.pid line 8 is "ready" once the server accepts connections. */
static int server_ready(const char *pgdata)
{
	char *pidfile = path_join(pgdata, "postmaster.pid"), line[256];
	FILE *fp = fopen(pidfile, "re");
	free(pidfile);
	if (!fp)
		return 0;
	int n = 0, ready = 0;
	while (fgets(line, sizeof line, fp)) {
		if (++n == 8) {
			ready = strncmp(line, "ready", 5) == 0;
			break;
		}
	}
	fclose(fp);
	return ready;
}

static pid_t temp_server_start(const char *pgdata, const char *port)
{
	char *argv[] = {"postgres", "-D", (char *)pgdata, "-c", "listen_addresses=", "-p", (char *)port, NULL};
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "%s: postgres: %s\n", prog, strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < 600; i++) { /* 60 s */
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			die("the temporary server exited during start-up");
		if (server_ready(pgdata))
			return pid;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGQUIT);
	die("the temporary server did not become ready in 60 s");
}

static void temp_server_stop(pid_t pid)
{
	kill(pid, SIGINT); /* fast shutdown, as pg_ctl -m fast */
	int st = run_wait(pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the temporary server did not shut down cleanly");
}

/* The child feeding the current psql's stdin, waited for (and checked) after psql. */
static pid_t feeder = -1;

/* A pipe whose read end is returned; text is written to it from a child (no size limit). */
static int feed(const char *text, size_t len, gzFile gz)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		signal(SIGPIPE, SIG_DFL);
		if (gz) {
			char buf[65536];
			int n;
			while ((n = gzread(gz, buf, sizeof buf)) > 0) {
				if (write(fds[1], buf, (size_t)n) != n)
					_exit(1);
			}
			_exit(n < 0 ? 1 : 0);
		}
		while (len > 0) {
			ssize_t n = write(fds[1], text, len);
			if (n <= 0)
				_exit(1);
			text += n;
			len -= (size_t)n;
		}
		_exit(0);
	}
	close(fds[1]);
	feeder = pid;
	return fds[0];
}

static void psql(const char *db, const char *file, int in_fd, char *const vars[])
{
	char *argv[32];
	int n = 0;
	argv[n++] = "psql";
	argv[n++] = "-v";
	argv[n++] = "ON_ERROR_STOP=1";
	argv[n++] = "--no-password";
	argv[n++] = "--no-psqlrc";
	argv[n++] = "--dbname";
	argv[n++] = (char *)db;
	for (int i = 0; vars && vars[i]; i++) {
		argv[n++] = "--set";
		argv[n++] = vars[i];
	}
	if (file) {
		argv[n++] = "-f";
		argv[n++] = (char *)file;
	}
	argv[n] = NULL;
	run(argv, in_fd, file ? file : "psql");
	if (feeder > 0) {
		/* A truncated or corrupt .sql.gz must not pass as a shorter script. */
		int st = run_wait(feeder);
		feeder = -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("reading the input of psql failed");
	}
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void init_files(const char *db)
{
	const char *dir = "/docker-entrypoint-initdb.d";
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0) {
		if (errno == ENOENT)
			return;
		die("%s: %s", dir, strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (name[0] == '.')
			continue;
		char *f = path_join(dir, name);
		struct stat st;
		if (stat(f, &st) < 0)
			die("%s: %s", f, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			say("ignoring %s (a directory)", f);
		} else if (ends_with(name, ".sql")) {
			say("running %s", f);
			psql(db, f, -1, NULL);
		} else if (ends_with(name, ".sql.gz")) {
			say("running %s", f);
			gzFile gz = gzopen(f, "rb");
			if (!gz)
				die("%s: cannot open: %s", f, strerror(errno));
			int in = feed(NULL, 0, gz);
			gzclose(gz);
			psql(db, NULL, in, NULL);
		} else {
			die("%s: only *.sql and *.sql.gz are run here: this image has no shell for *.sh, "
				"and no xz or zstd for *.sql.xz / *.sql.zst", f);
		}
		free(f);
		free(names[i]);
	}
	free(names);
}

static void setup(void)
{
	char *pgdata = file_env("PGDATA", "/var/lib/postgresql/data");
	char *password = file_env("POSTGRES_PASSWORD", NULL);
	char *user = file_env("POSTGRES_USER", "postgres");
	char *db = file_env("POSTGRES_DB", user);
	char *initdb_args = file_env("POSTGRES_INITDB_ARGS", "");
	const char *waldir = getenv("POSTGRES_INITDB_WALDIR");
	const char *auth = getenv("POSTGRES_HOST_AUTH_METHOD");
	const char *port = getenv("PGPORT") && *getenv("PGPORT") ? getenv("PGPORT") : "5432";
	if (!auth || !*auth)
		auth = "scram-sha-256";

	if (geteuid() == 0)
		die("running as root is not supported: run as the image's user (65534) or another non-root user, "
			"owning %s", pgdata);
	if (mkdir(pgdata, 0700) < 0 && errno != EEXIST)
		die("cannot create %s: %s", pgdata, strerror(errno));
	chmod(pgdata, 0700); /* as the official image: best effort (a bind mount may refuse) */
	if (waldir && *waldir && mkdir(waldir, 0700) < 0 && errno != EEXIST)
		die("cannot create %s: %s", waldir, strerror(errno));

	char *version = path_join(pgdata, "PG_VERSION");
	struct stat st;
	int exists = stat(version, &st) == 0 && st.st_size > 0;
	free(version);
	if (exists) {
		say("PostgreSQL database directory appears to contain a database; skipping initialization");
		return;
	}
	if ((!password || !*password) && strcmp(auth, "trust") != 0)
		die("the database is uninitialized and no superuser password is given: set POSTGRES_PASSWORD "
			"(or POSTGRES_PASSWORD_FILE) to a non-empty value, or POSTGRES_HOST_AUTH_METHOD=trust to "
			"allow every connection without a password (not recommended)");
	if (password && strlen(password) > 100)
		say("warning: the password is longer than 100 characters: clients may truncate it");
	if (!strcmp(auth, "trust"))
		say("warning: POSTGRES_HOST_AUTH_METHOD=trust: every host may connect without a password");

	char *argv[MAX_WORDS + 8];
	int n = 0;
	argv[n++] = "initdb";
	char *ua, *pw = NULL, *wd = NULL;
	if (asprintf(&ua, "--username=%s", user) < 0)
		die("out of memory");
	argv[n++] = ua;
	int pwfd = -1;
	if (password && *password) {
		int fds[2];
		if (pipe(fds) < 0)
			die("pipe: %s", strerror(errno));
		size_t len = strlen(password);
		if (len + 1 > 65536)
			die("the password is too long");
		if (write(fds[1], password, len) != (ssize_t)len || write(fds[1], "\n", 1) != 1)
			die("pipe: %s", strerror(errno));
		close(fds[1]);
		pwfd = fds[0];
		if (asprintf(&pw, "--pwfile=/dev/fd/%d", pwfd) < 0)
			die("out of memory");
		argv[n++] = pw;
	}
	if (waldir && *waldir) {
		if (asprintf(&wd, "--waldir=%s", waldir) < 0)
			die("out of memory");
		argv[n++] = wd;
	}
	for (char *save = NULL, *t = strtok_r(initdb_args, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		if (n >= MAX_WORDS)
			die("POSTGRES_INITDB_ARGS has too many words");
		argv[n++] = t;
	}
	argv[n] = NULL;
	run(argv, -1, "initdb");
	if (pwfd >= 0)
		close(pwfd);

	char *hba = path_join(pgdata, "pg_hba.conf");
	FILE *fp = fopen(hba, "ae");
	if (!fp || fprintf(fp, "\nhost all all all %s\n", auth) < 0 || fclose(fp) != 0)
		die("cannot append to %s", hba);
	free(hba);

	/* psql of the temporary server: the socket, this user, the password if local auth wants it. */
	setenv("PGPORT", port, 1);
	setenv("PGUSER", user, 1);
	if (password && *password)
		setenv("PGPASSWORD", password, 1);
	pid_t server = temp_server_start(pgdata, port);
	if (strcmp(db, "postgres") != 0) {
		static const char sql[] =
			"SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS "
			"(SELECT FROM pg_database WHERE datname = :'db') \\gexec\n";
		char *var;
		if (asprintf(&var, "db=%s", db) < 0)
			die("out of memory");
		char *vars[] = {var, NULL};
		psql("postgres", NULL, feed(sql, sizeof sql - 1, NULL), vars);
		free(var);
	}
	init_files(db);
	temp_server_stop(server);
	unsetenv("PGPASSWORD");
	say("PostgreSQL init process complete; ready for start up.");
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (!strcmp(base, "sh"))
		return sh_main(argc, argv);
	/* A reaped child's status is ours to read: no inherited SIG_IGN for SIGCHLD. */
	signal(SIGCHLD, SIG_DFL);

	char **args = argv + 1;
	int nargs = argc - 1;
	char *with_postgres[MAX_WORDS + 2];
	if (nargs == 0 || args[0][0] == '-') {
		if (nargs > MAX_WORDS)
			die("too many arguments");
		with_postgres[0] = "postgres";
		for (int i = 0; i < nargs; i++)
			with_postgres[i + 1] = args[i];
		with_postgres[nargs + 1] = NULL;
		args = with_postgres;
		nargs++;
	}
	if (!strcmp(args[0], "postgres") && !want_help(nargs, args))
		setup();
	fflush(NULL);
	execvp(args[0], args);
	die("%s: %s", args[0], strerror(errno));
}
