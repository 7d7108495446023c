/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lcore.c - pinned worker threads with ids in thread-local storage, and
 * registration of the application's own threads.
 */
#include <ctype.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lcore_priv.h"

__thread uint32_t tarn__lcore_id = TARN_LCORE_ID_ANY;

enum lcore_role { ROLE_UNUSED = 0, ROLE_MAIN, ROLE_WORKER, ROLE_REGISTERED };
enum job_state { JOB_IDLE = 0, JOB_PENDING, JOB_RUNNING, JOB_DONE };

struct lcore {
	int role; /* enum lcore_role; written under table_lock, read relaxed */
	int cpu;  /* -1: not pinned */
	int socket;
	pthread_t thread;
	/* Work handed to a worker: fn/arg/ret/job/quit under `lock`. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	tarn_lcore_fn fn;
	void *arg;
	int ret;
	int job;
	int quit;
};

static struct lcore lcores[TARN_MAX_LCORES];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t main_id = TARN_LCORE_ID_ANY;
static unsigned n_started;
static cpu_set_t saved_affinity;
static int affinity_saved;

/* Thread exit hooks (mempool cache flush, ...). */
#define MAX_HOOKS 8
static tarn__thread_hook_fn hooks[MAX_HOOKS];
static unsigned n_hooks;
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;

/* Unregisters a registered thread that exits without unregistering. */
static pthread_key_t reg_key;
static pthread_once_t reg_key_once = PTHREAD_ONCE_INIT;

void tarn__thread_exit_hook_add(tarn__thread_hook_fn fn)
{
	pthread_mutex_lock(&hook_lock);
	int found = 0;
	for (unsigned i = 0; i < n_hooks; i++)
		found |= hooks[i] == fn;
	if (!found && n_hooks < MAX_HOOKS)
		hooks[n_hooks++] = fn;
	pthread_mutex_unlock(&hook_lock);
}

static void run_exit_hooks(void)
{
	tarn__thread_hook_fn local[MAX_HOOKS];
	pthread_mutex_lock(&hook_lock);
	unsigned n = n_hooks;
	memcpy(local, hooks, sizeof(local));
	pthread_mutex_unlock(&hook_lock);
	for (unsigned i = 0; i < n; i++)
		local[i]();
}

static int role_of(uint32_t id)
{
	if (id >= TARN_MAX_LCORES)
		return ROLE_UNUSED;
	return __atomic_load_n(&lcores[id].role, __ATOMIC_ACQUIRE);
}

/* ---- parsing ---------------------------------------------------------- */

static int parse_uint(const char **p, unsigned long *v)
{
	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	char *end;
	errno = 0;
	*v = strtoul(*p, &end, 10);
	if (errno != 0 || *v > 100000)
		return -EINVAL;
	*p = end;
	return 0;
}

static int list_add(struct tarn__lcore_list *out, unsigned long id, unsigned long cpu,
                    const char *s)
{
	if (id >= TARN_MAX_LCORES) {
		TARN__ERR("env", "--lcores '%s': lcore id %lu out of range (0-%d)", s, id,
		          TARN_MAX_LCORES - 1);
		return -EINVAL;
	}
	for (unsigned i = 0; i < out->n; i++) {
		if (out->id[i] == id) {
			TARN__ERR("env", "--lcores '%s': lcore %lu listed twice", s, id);
			return -EINVAL;
		}
	}
	out->id[out->n] = (uint32_t)id;
	out->cpu[out->n] = (int)cpu;
	out->n++;
	return 0;
}

int tarn__lcores_parse(const char *s, struct tarn__lcore_list *out)
{
	if (s == NULL || out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	const char *p = s;
	if (*p == '\0') {
		TARN__ERR("env", "--lcores: empty list (expected e.g. 0-3,8 or 0@2,1@3)");
		return -EINVAL;
	}
	while (*p != '\0') {
		unsigned long a, b, cpu;
		if (parse_uint(&p, &a) < 0)
			goto bad;
		b = a;
		if (*p == '-') {
			p++;
			if (parse_uint(&p, &b) < 0 || b < a)
				goto bad;
		}
		if (*p == '@') {
			p++;
			if (parse_uint(&p, &cpu) < 0 || b != a)
				goto bad;
			if (list_add(out, a, cpu, s) < 0)
				return -EINVAL;
		} else {
			for (unsigned long i = a; i <= b; i++)
				if (list_add(out, i, i, s) < 0)
					return -EINVAL;
		}
		if (*p == ',')
			p++;
		else if (*p != '\0')
			goto bad;
		else
			break;
		if (*p == '\0')
			goto bad; /* trailing comma */
	}
	return 0;
bad:
	TARN__ERR("env",
	          "--lcores '%s': cannot parse near '%s' (expected CPUs like 0-3,8 or ID@CPU "
	          "pairs like 0@2,1@3)",
	          s, p);
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

/* ---- workers ---------------------------------------------------------- */

static int pin_self(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker_main(void *p)
{
	struct lcore *lc = p;
	uint32_t id = (uint32_t)(lc - lcores);
	tarn__lcore_id = id;
	for (;;) {
		pthread_mutex_lock(&lc->lock);
		while (lc->job != JOB_PENDING && !lc->quit)
			pthread_cond_wait(&lc->cond, &lc->lock);
		if (lc->quit && lc->job != JOB_PENDING) {
			pthread_mutex_unlock(&lc->lock);
			break;
		}
		lc->job = JOB_RUNNING;
		tarn_lcore_fn fn = lc->fn;
		void *arg = lc->arg;
		pthread_mutex_unlock(&lc->lock);

		int ret = fn(arg);

		pthread_mutex_lock(&lc->lock);
		lc->ret = ret;
		lc->job = JOB_DONE;
		pthread_cond_broadcast(&lc->cond);
		pthread_mutex_unlock(&lc->lock);
	}
	run_exit_hooks();
	tarn__lcore_id = TARN_LCORE_ID_ANY;
	return NULL;
}

static void reg_key_destructor(void *v)
{
	(void)v;
	/* The thread's TLS id may already be gone in some libcs; restore it
	 * from the key value so unregister finds it. */
	uint32_t id = (uint32_t)(uintptr_t)v - 1;
	if (tarn__lcore_id == TARN_LCORE_ID_ANY)
		tarn__lcore_id = id;
	tarn_thread_unregister();
}

/* One-time set-up: the registration key and each lcore's mutex and condition
 * variable, which live for the whole process (never destroyed, so a stale
 * waiter can never touch a destroyed object). */
static void reg_key_create(void)
{
	pthread_key_create(&reg_key, reg_key_destructor);
	for (unsigned i = 0; i < TARN_MAX_LCORES; i++) {
		pthread_mutex_init(&lcores[i].lock, NULL);
		pthread_cond_init(&lcores[i].cond, NULL);
	}
}

static void lcore_reset(struct lcore *lc)
{
	lc->role = ROLE_UNUSED;
	lc->cpu = -1;
	lc->socket = 0;
	lc->fn = NULL;
	lc->arg = NULL;
	lc->ret = 0;
	lc->job = JOB_IDLE;
	lc->quit = 0;
}

/* Every CPU of the list exists and is in the process's affinity: 0, or
 * -EINVAL (logged) or sched_getaffinity()'s -errno. */
static int cpus_check(const struct tarn__lcore_list *list)
{
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return -errno;
	for (unsigned i = 0; i < list->n; i++) {
		int cpu = list->cpu[i];
		if (cpu < 0 || (unsigned)cpu >= tarn_cpu_count() || cpu >= CPU_SETSIZE) {
			TARN__ERR("env",
			          "lcore %u: CPU %d does not exist (this machine has CPUs 0-%u)",
			          list->id[i], cpu, tarn_cpu_count() - 1);
			return -EINVAL;
		}
		if (!CPU_ISSET(cpu, &allowed)) {
			TARN__ERR("env",
			          "lcore %u: CPU %d is not in this process's CPU affinity "
			          "(taskset/cgroup)",
			          list->id[i], cpu);
			return -EINVAL;
		}
	}
	return 0;
}

/* Start worker lcore `id` on lc->cpu, pinned from its first instruction.
 * 0, or pthread_create()'s error (logged). Under table_lock. */
static int worker_start(struct lcore *lc, unsigned id)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(lc->cpu, &set);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	int rc = TARN__FAULT("pthread_create", EAGAIN)
	             ? EAGAIN
	             : pthread_create(&lc->thread, &attr, worker_main, lc);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		TARN__ERR("env", "cannot start lcore %u on CPU %d: %s", id, lc->cpu,
		          tarn_strerror(rc));
		return rc;
	}
	char tname[16];
	snprintf(tname, sizeof(tname), "tarn-lcore-%u", id);
	pthread_setname_np(lc->thread, tname);
	__atomic_store_n(&lc->role, ROLE_WORKER, __ATOMIC_RELEASE);
	return 0;
}

int tarn__lcores_start(const struct tarn__lcore_list *list, int pin_main)
{
	pthread_once(&reg_key_once, reg_key_create);
	int rc = cpus_check(list);
	if (rc < 0)
		return rc;

	pthread_mutex_lock(&table_lock);
	for (unsigned i = 0; i < TARN_MAX_LCORES; i++)
		lcore_reset(&lcores[i]);
	main_id = list->id[0];
	struct lcore *m = &lcores[main_id];
	m->cpu = list->cpu[0];
	m->socket = tarn_cpu_socket((unsigned)m->cpu);
	m->thread = pthread_self();
	if (pin_main) {
		affinity_saved = pthread_getaffinity_np(pthread_self(), sizeof(saved_affinity),
		                                        &saved_affinity) == 0;
		rc = pin_self(m->cpu);
		if (rc < 0)
			TARN__WARN("env", "cannot pin the main lcore to CPU %d: %s", m->cpu,
			           tarn_strerror(rc));
	}
	__atomic_store_n(&m->role, ROLE_MAIN, __ATOMIC_RELEASE);
	tarn__lcore_id = main_id;
	n_started = 1;

	for (unsigned i = 1; i < list->n; i++) {
		struct lcore *lc = &lcores[list->id[i]];
		lc->cpu = list->cpu[i];
		lc->socket = tarn_cpu_socket((unsigned)lc->cpu);
		if (worker_start(lc, list->id[i]) != 0) {
			pthread_mutex_unlock(&table_lock);
			tarn__lcores_stop();
			return -EAGAIN;
		}
		n_started++;
	}
	pthread_mutex_unlock(&table_lock);
	return 0;
}

int tarn__lcore_orig_affinity(cpu_set_t *set)
{
	int rc = 0;
	pthread_mutex_lock(&table_lock);
	if (affinity_saved)
		*set = saved_affinity;
	else
		rc = -pthread_getaffinity_np(pthread_self(), sizeof(*set), set);
	pthread_mutex_unlock(&table_lock);
	return rc;
}

void tarn__lcores_stop(void)
{
	pthread_mutex_lock(&table_lock);
	for (unsigned i = 0; i < TARN_MAX_LCORES; i++) {
		struct lcore *lc = &lcores[i];
		if (lc->role != ROLE_WORKER)
			continue;
		pthread_mutex_lock(&lc->lock);
		lc->quit = 1;
		pthread_cond_broadcast(&lc->cond);
		pthread_mutex_unlock(&lc->lock);
		pthread_t t = lc->thread;
		pthread_mutex_unlock(&table_lock);
		pthread_join(t, NULL);
		pthread_mutex_lock(&table_lock);
	}
	if (affinity_saved)
		pthread_setaffinity_np(pthread_self(), sizeof(saved_affinity), &saved_affinity);
	affinity_saved = 0;
	for (unsigned i = 0; i < TARN_MAX_LCORES; i++) {
		if (lcores[i].role == ROLE_UNUSED)
			continue;
		__atomic_store_n(&lcores[i].role, ROLE_UNUSED, __ATOMIC_RELEASE);
	}
	main_id = TARN_LCORE_ID_ANY;
	n_started = 0;
	tarn__lcore_id = TARN_LCORE_ID_ANY;
	pthread_mutex_unlock(&table_lock);
}

int tarn__lcore_self_socket(void)
{
	uint32_t id = tarn__lcore_id;
	if (role_of(id) == ROLE_UNUSED)
		return -1;
	return lcores[id].socket;
}

/* ---- public ----------------------------------------------------------- */

uint32_t tarn_lcore_main(void)
{
	return main_id;
}

unsigned tarn_lcore_count(void)
{
	return n_started;
}

int tarn_lcore_is_enabled(uint32_t id)
{
	return role_of(id) != ROLE_UNUSED;
}

uint32_t tarn_lcore_next(uint32_t prev, int skip_main)
{
	uint32_t i = prev == TARN_LCORE_ID_ANY ? 0 : prev + 1;
	for (; i < TARN_MAX_LCORES; i++) {
		int r = role_of(i);
		if (r == ROLE_WORKER || (r == ROLE_MAIN && !skip_main))
			return i;
	}
	return TARN_LCORE_ID_ANY;
}

int tarn_lcore_socket(uint32_t id)
{
	if (role_of(id) == ROLE_UNUSED)
		return -EINVAL;
	return lcores[id].socket;
}

int tarn_lcore_cpu(uint32_t id)
{
	if (role_of(id) == ROLE_UNUSED)
		return -EINVAL;
	return lcores[id].cpu;
}

int tarn_lcore_launch(uint32_t id, tarn_lcore_fn fn, void *arg)
{
	if (fn == NULL || role_of(id) != ROLE_WORKER)
		return -EINVAL;
	struct lcore *lc = &lcores[id];
	pthread_mutex_lock(&lc->lock);
	if (lc->job == JOB_PENDING || lc->job == JOB_RUNNING) {
		pthread_mutex_unlock(&lc->lock);
		return -EBUSY;
	}
	lc->fn = fn;
	lc->arg = arg;
	lc->job = JOB_PENDING;
	pthread_cond_broadcast(&lc->cond);
	pthread_mutex_unlock(&lc->lock);
	return 0;
}

int tarn_lcore_wait(uint32_t id, int *retval)
{
	if (role_of(id) != ROLE_WORKER)
		return -EINVAL;
	struct lcore *lc = &lcores[id];
	pthread_mutex_lock(&lc->lock);
	while (lc->job == JOB_PENDING || lc->job == JOB_RUNNING)
		pthread_cond_wait(&lc->cond, &lc->lock);
	if (lc->job == JOB_DONE) {
		if (retval != NULL)
			*retval = lc->ret;
		lc->job = JOB_IDLE;
	}
	pthread_mutex_unlock(&lc->lock);
	return 0;
}

int tarn_lcore_wait_all(void)
{
	int first = 0;
	uint32_t id;
	TARN_LCORE_FOREACH_WORKER(id)
	{
		int ret = 0;
		tarn_lcore_wait(id, &ret);
		if (ret != 0 && first == 0)
			first = ret;
	}
	return first;
}

int tarn_thread_register(void)
{
	pthread_once(&reg_key_once, reg_key_create);
	if (!tarn_initialized())
		return -EINVAL;
	if (tarn__lcore_id != TARN_LCORE_ID_ANY && role_of(tarn__lcore_id) != ROLE_UNUSED)
		return (int)tarn__lcore_id;
	int socket = tarn_thread_socket();
	pthread_mutex_lock(&table_lock);
	for (uint32_t i = 0; i < TARN_MAX_LCORES; i++) {
		struct lcore *lc = &lcores[i];
		if (lc->role != ROLE_UNUSED)
			continue;
		lcore_reset(lc);
		lc->socket = socket;
		lc->thread = pthread_self();
		__atomic_store_n(&lc->role, ROLE_REGISTERED, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&table_lock);
		tarn__lcore_id = i;
		pthread_setspecific(reg_key, (void *)(uintptr_t)(i + 1));
		return (int)i;
	}
	pthread_mutex_unlock(&table_lock);
	return -ENOSPC;
}

int tarn_thread_unregister(void)
{
	uint32_t id = tarn__lcore_id;
	if (role_of(id) != ROLE_REGISTERED || !pthread_equal(lcores[id].thread, pthread_self()))
		return -EINVAL;
	run_exit_hooks();
	pthread_setspecific(reg_key, NULL);
	pthread_mutex_lock(&table_lock);
	__atomic_store_n(&lcores[id].role, ROLE_UNUSED, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
	tarn__lcore_id = TARN_LCORE_ID_ANY;
	return 0;
}
