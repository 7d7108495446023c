/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * options.c - the tarn options, declared once in a table that drives the argv
 * parser, the environment variables and the help text.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lcore_priv.h"

typedef int (*opt_apply_fn)(struct tarn_config *cfg, const char *val);

struct opt {
	const char *name;    /* long option without "--" */
	const char *metavar; /* NULL: takes no value */
	const char *env;     /* environment variable, or NULL */
	opt_apply_fn apply;
	const char *help;
};

static int copy_str(char *dst, size_t size, const char *val, const char *opt)
{
	size_t len = strlen(val);
	if (len == 0 || len >= size) {
		TARN__ERR("env", "--%s: value must be 1 to %zu characters", opt, size - 1);
		return -EINVAL;
	}
	memcpy(dst, val, len + 1);
	return 0;
}

static int apply_lcores(struct tarn_config *cfg, const char *val)
{
	struct tarn__lcore_list list;
	int rc = tarn__lcores_parse(val, &list);
	if (rc < 0)
		return rc;
	return copy_str(cfg->lcores, sizeof(cfg->lcores), val, "lcores");
}

static int apply_socket_mem(struct tarn_config *cfg, const char *val)
{
	uint64_t mb[TARN_MAX_SOCKETS] = { 0 };
	const char *p = val;
	unsigned n = 0;
	if (*p == '\0')
		goto bad;
	for (;;) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		if (n == TARN_MAX_SOCKETS) {
			TARN__ERR("env", "--socket-mem '%s': more than %d sockets", val,
			          TARN_MAX_SOCKETS);
			return -EINVAL;
		}
		char *end;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 10);
		/* 1 PiB per socket is far beyond any machine: a typo. */
		if (errno != 0 || v > (1ull << 30))
			goto bad;
		mb[n++] = v;
		p = end;
		if (*p == '\0')
			break;
		if (*p != ',')
			goto bad;
		p++;
	}
	memcpy(cfg->socket_mem_mb, mb, sizeof(mb));
	return 0;
bad:
	TARN__ERR("env",
	          "--socket-mem '%s': expected MiB per socket, comma-separated "
	          "(e.g. 512,512)",
	          val);
	return -EINVAL;
}

static int apply_huge_dir(struct tarn_config *cfg, const char *val)
{
	if (val[0] != '/') {
		TARN__ERR("env", "--huge-dir '%s': expected an absolute path", val);
		return -EINVAL;
	}
	return copy_str(cfg->huge_dir, sizeof(cfg->huge_dir), val, "huge-dir");
}

static int apply_no_huge(struct tarn_config *cfg, const char *val)
{
	(void)val;
	cfg->huge_policy = TARN_HUGE_NONE;
	return 0;
}

static int apply_no_pin_main(struct tarn_config *cfg, const char *val)
{
	(void)val;
	cfg->no_pin_main = 1;
	return 0;
}

/* "" (the option) or 1/yes/true/on: off; 0/no/false/off: on (the variable). */
static int apply_no_telemetry(struct tarn_config *cfg, const char *val)
{
	static const char *const yes[] = { "", "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	for (size_t i = 0; i < TARN_ARRAY_SIZE(yes); i++)
		if (strcasecmp(val, yes[i]) == 0)
			return cfg->no_telemetry = 1, 0;
	for (size_t i = 0; i < TARN_ARRAY_SIZE(no); i++)
		if (strcasecmp(val, no[i]) == 0)
			return cfg->no_telemetry = 0, 0;
	TARN__ERR("env", "TARN_NO_TELEMETRY '%s': expected 1, yes, true, 0, no or false", val);
	return -EINVAL;
}

static int apply_huge(struct tarn_config *cfg, const char *val)
{
	if (strcmp(val, "prefer") == 0)
		cfg->huge_policy = TARN_HUGE_PREFER;
	else if (strcmp(val, "require") == 0)
		cfg->huge_policy = TARN_HUGE_REQUIRE;
	else if (strcmp(val, "none") == 0)
		cfg->huge_policy = TARN_HUGE_NONE;
	else {
		TARN__ERR("env", "--huge '%s': expected require, prefer or none", val);
		return -EINVAL;
	}
	return 0;
}

static int apply_huge_size(struct tarn_config *cfg, const char *val)
{
	uint64_t sz;
	if (tarn__parse_size(val, &sz) < 0 || sz == 0 || (sz & (sz - 1)) != 0 || sz < 4096) {
		TARN__ERR("env",
		          "--huge-size '%s': expected a power-of-two page size such as 2M "
		          "or 1G",
		          val);
		return -EINVAL;
	}
	cfg->huge_page_size = sz;
	return 0;
}

/*
 * DPDK's form PATTERN:LEVEL (--log-level=lib.eal:debug, pmd.net.ring:8),
 * for DPDK users: tarn has one level, set from LEVEL for all of tarn. A
 * number there is DPDK's (syslog's + 1: 8 is debug); DPDK's emerg, alert
 * and crit, below tarn's lowest, are err. The level, or -EINVAL.
 */
static int dpdk_log_level(const char *val)
{
	static const char *const below_err[] = { "emerg", "alert", "crit", "critical" };
	const char *colon = strrchr(val, ':');
	const char *lv = colon + 1;
	if (colon == val || *lv == '\0')
		return -EINVAL;
	for (size_t i = 0; i < TARN_ARRAY_SIZE(below_err); i++)
		if (strcasecmp(lv, below_err[i]) == 0)
			return TARN_LOG_ERR;
	if (*lv >= '0' && *lv <= '9') {
		char *end;
		long v = strtol(lv, &end, 10);
		if (*end != '\0' || v < 1 || v > TARN_LOG_DEBUG + 1)
			return -EINVAL;
		return v - 1 < TARN_LOG_ERR ? TARN_LOG_ERR : (int)v - 1;
	}
	return tarn_log_level_parse(lv);
}

static int apply_log_level(struct tarn_config *cfg, const char *val)
{
	const int dpdk_form = strchr(val, ':') != NULL;
	int l = dpdk_form ? dpdk_log_level(val) : tarn_log_level_parse(val);
	if (l < 0) {
		TARN__ERR("env",
		          "--log-level '%s': expected err, warning, notice, info, debug or "
		          "3-7, or DPDK's PATTERN:LEVEL",
		          val);
		return -EINVAL;
	}
	static const char *const names[] = { [TARN_LOG_ERR] = "err",
		                             [TARN_LOG_WARNING] = "warning",
		                             [TARN_LOG_NOTICE] = "notice",
		                             [TARN_LOG_INFO] = "info",
		                             [TARN_LOG_DEBUG] = "debug" };
	if (dpdk_form && strncmp(val, "*:", 2) != 0)
		TARN__NOTICE("env",
		             "--log-level '%s': tarn has one log level, not one per component: "
		             "it is now %s for all of tarn",
		             val, names[l]);
	cfg->log_level = l;
	return 0;
}

static int apply_file_prefix(struct tarn_config *cfg, const char *val)
{
	size_t len = strlen(val);
	if (len == 0 || len >= TARN_PREFIX_SIZE) {
		TARN__ERR("env", "--file-prefix: 1 to %d characters", TARN_PREFIX_SIZE - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)val[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.') {
			TARN__ERR("env",
			          "--file-prefix '%s': only letters, digits, '-', '_' and '.' "
			          "are allowed",
			          val);
			return -EINVAL;
		}
	}
	if (strstr(val, "map_") != NULL || strcmp(val, ".") == 0 || strcmp(val, "..") == 0) {
		TARN__ERR("env",
		          "--file-prefix '%s': must not contain \"map_\" (DPDK's EAL deletes "
		          "files matching *map_*) nor be '.' or '..'",
		          val);
		return -EINVAL;
	}
	memcpy(cfg->file_prefix, val, len + 1);
	return 0;
}

static int apply_iova_mode(struct tarn_config *cfg, const char *val)
{
	if (strcmp(val, "auto") == 0)
		cfg->iova_mode = TARN_IOVA_AUTO;
	else if (strcmp(val, "va") == 0)
		cfg->iova_mode = TARN_IOVA_VA;
	else if (strcmp(val, "pa") == 0)
		cfg->iova_mode = TARN_IOVA_PA;
	else {
		TARN__ERR("env", "--iova-mode '%s': expected auto, va or pa", val);
		return -EINVAL;
	}
	return 0;
}

int tarn__file_prefix_check(const char *prefix)
{
	struct tarn_config tmp;
	return apply_file_prefix(&tmp, prefix);
}

static const struct opt opts[] = {
	{ "lcores", "LIST", "TARN_LCORES", apply_lcores,
	  "lcores to run: CPUs (0-3,8; lcore id = CPU) or ID@CPU pairs (0@2,1@3);\n"
	  "the first is the main lcore (default: the first allowed CPU)" },
	{ "socket-mem", "MB,MB..", "TARN_SOCKET_MEM", apply_socket_mem,
	  "MiB to reserve up front on each socket (default: none, grow on demand)" },
	{ "huge-dir", "DIR", "TARN_HUGE_DIR", apply_huge_dir,
	  "hugetlbfs mount to use (default: the first mount of the page size)" },
	{ "huge", "POLICY", "TARN_HUGE", apply_huge,
	  "require: hugepages or fail; prefer: fall back to normal pages (default);\n"
	  "none: never use hugepages" },
	{ "no-huge", NULL, NULL, apply_no_huge, "same as --huge none" },
	{ "huge-size", "SIZE", "TARN_HUGE_SIZE", apply_huge_size,
	  "hugepage size: 2M or 1G (default: the system default)" },
	{ "log-level", "LEVEL", "TARN_LOG_LEVEL", apply_log_level,
	  "err, warning, notice (default), info or debug, or their syslog numbers 3-7;\n"
	  "DPDK's PATTERN:LEVEL (lib.eal:debug, *:8) sets that one level" },
	{ "file-prefix", "NAME", "TARN_FILE_PREFIX", apply_file_prefix,
	  "name of this process's hugepage files and runtime files (default: tarn)" },
	{ "no-pin-main", NULL, NULL, apply_no_pin_main,
	  "do not pin the calling thread to the main lcore's CPU" },
	{ "no-telemetry", NULL, "TARN_NO_TELEMETRY", apply_no_telemetry,
	  "no telemetry socket (default: on, for dpdk-telemetry.py and tarn-top)" },
	{ "iova-mode", "MODE", "TARN_IOVA_MODE", apply_iova_mode,
	  "addresses PCI devices are given: va (vfio with an IOMMU), pa (physical:\n"
	  "uio, needs root and hugepages) or auto (default: from the bound devices)" },
};
#define N_OPTS TARN_ARRAY_SIZE(opts)

const char *tarn__config_option(size_t i, const char **metavar, const char **env)
{
	if (i >= N_OPTS)
		return NULL;
	if (metavar != NULL)
		*metavar = opts[i].metavar;
	if (env != NULL)
		*env = opts[i].env;
	return opts[i].name;
}

int tarn_config_init(struct tarn_config *cfg)
{
	if (cfg == NULL)
		return -EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	cfg->huge_policy = TARN_HUGE_PREFER;
	cfg->log_level = TARN_LOG_NOTICE;
	strcpy(cfg->file_prefix, "tarn");
	/* A bad value is refused as the same value of the option is: an error
	 * (after every variable is read, so that each bad one is named). */
	int rc = 0;
	for (size_t i = 0; i < N_OPTS; i++) {
		if (opts[i].env == NULL)
			continue;
		const char *v = getenv(opts[i].env);
		if (v == NULL || *v == '\0')
			continue;
		struct tarn_config tmp = *cfg;
		if (opts[i].apply(&tmp, v) < 0) {
			TARN__ERR("env", "environment variable %s='%s' refused (it sets --%s)",
			          opts[i].env, v, opts[i].name);
			rc = -EINVAL;
		} else {
			*cfg = tmp;
		}
	}
	return rc;
}

static const struct opt *find_opt(const char *arg, const char **val)
{
	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	const char *name = arg + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	for (size_t i = 0; i < N_OPTS; i++) {
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) {
			*val = eq ? eq + 1 : NULL;
			return &opts[i];
		}
	}
	return NULL;
}

/*
 * The arguments of the last successful tarn_config_parse_args(), split as
 * DPDK splits EAL and application arguments: argv[0] and the tarn options
 * (kind 0), and the arguments left to the application (kind 1). Telemetry's
 * /eal/params and /eal/app_params report them. Copies, built while parsing
 * and swapped in under the lock; a failed allocation keeps the old lists.
 */
static pthread_mutex_t saved_lock = PTHREAD_MUTEX_INITIALIZER;
static char **saved[2]; /* NULL-terminated lists of copies */

struct arg_save {
	char **list[2]; /* the lists of the parse in progress */
	unsigned n[2];  /* entries in each */
	int failed;     /* an allocation failed: keep the old lists */
};

static void free_list(char **l)
{
	for (size_t i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

static void save_args_begin(struct arg_save *sv, int n)
{
	for (int k = 0; k < 2; k++) {
		sv->list[k] = calloc((size_t)n + 1, sizeof(char *));
		sv->n[k] = 0;
	}
	sv->failed = sv->list[0] == NULL || sv->list[1] == NULL;
}

static void save_arg(struct arg_save *sv, int kind, const char *arg)
{
	if (sv->failed)
		return;
	char *c = strdup(arg);
	if (c == NULL) {
		sv->failed = 1;
		return;
	}
	sv->list[kind][sv->n[kind]++] = c;
}

static void save_args_end(struct arg_save *sv)
{
	if (sv->failed) {
		free_list(sv->list[0]);
		free_list(sv->list[1]);
		return;
	}
	pthread_mutex_lock(&saved_lock);
	char **old[2] = { saved[0], saved[1] };
	saved[0] = sv->list[0];
	saved[1] = sv->list[1];
	pthread_mutex_unlock(&saved_lock);
	free_list(old[0]);
	free_list(old[1]);
}

void tarn__config_saved_args(int app, void (*fn)(const char *arg, void *ctx), void *ctx)
{
	pthread_mutex_lock(&saved_lock);
	for (size_t i = 0; saved[app != 0] != NULL && saved[app != 0][i] != NULL; i++)
		fn(saved[app != 0][i], ctx);
	pthread_mutex_unlock(&saved_lock);
}

int tarn_config_parse_args(struct tarn_config *cfg, int *argc, char **argv)
{
	if (cfg == NULL || argc == NULL || *argc < 0 || (argv == NULL && *argc > 0))
		return -EINVAL;
	int n = *argc;
	/* First pass: validate everything into a copy, so an error leaves argv
	 * untouched. */
	struct tarn_config tmp = *cfg;
	int consumed = 0;
	for (int i = 1; i < n; i++) {
		if (argv[i] == NULL)
			return -EINVAL;
		if (strcmp(argv[i], "--") == 0)
			break;
		const char *val;
		const struct opt *o = find_opt(argv[i], &val);
		if (o == NULL)
			continue;
		if (o->metavar == NULL) {
			if (val != NULL) {
				TARN__ERR("env", "--%s takes no value", o->name);
				return -EINVAL;
			}
		} else if (val == NULL) {
			if (i + 1 >= n || argv[i + 1] == NULL) {
				TARN__ERR("env", "--%s needs a value (%s)", o->name, o->metavar);
				return -EINVAL;
			}
			val = argv[++i];
			consumed++;
		}
		consumed++;
		int rc = o->apply(&tmp, val ? val : "");
		if (rc < 0)
			return rc;
	}
	struct arg_save sv;
	save_args_begin(&sv, n);
	if (n > 0)
		save_arg(&sv, 0, argv[0]);
	/* Second pass: remove the options, keeping the other arguments in order. */
	int out = 1, i = 1;
	for (; i < n; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		const char *val;
		const struct opt *o = find_opt(argv[i], &val);
		if (o == NULL) {
			save_arg(&sv, 1, argv[i]);
			argv[out++] = argv[i];
			continue;
		}
		save_arg(&sv, 0, argv[i]);
		if (o->metavar != NULL && val == NULL)
			save_arg(&sv, 0, argv[++i]);
	}
	for (; i < n; i++) {
		save_arg(&sv, 1, argv[i]);
		argv[out++] = argv[i];
	}
	save_args_end(&sv);
	if (out < n)
		argv[out] = NULL;
	*argc = n > 0 ? out : 0;
	*cfg = tmp;
	return consumed;
}

void tarn_config_usage(FILE *out)
{
	if (out == NULL)
		return;
	fprintf(out, "tarn options:\n");
	for (size_t i = 0; i < N_OPTS; i++) {
		char head[64];
		snprintf(head, sizeof(head), "--%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
		         opts[i].metavar ? opts[i].metavar : "");
		const char *h = opts[i].help;
		fprintf(out, "  %-24s ", head);
		while (*h) {
			const char *nl = strchr(h, '\n');
			size_t len = nl ? (size_t)(nl - h) : strlen(h);
			fprintf(out, "%.*s\n", (int)len, h);
			h += len;
			if (*h == '\n') {
				h++;
				fprintf(out, "  %-24s ", "");
			}
		}
		if (opts[i].env)
			fprintf(out, "  %-24s (environment: %s)\n", "", opts[i].env);
	}
}
