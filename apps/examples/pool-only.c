/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pool-only: tarn as a fast allocator of fixed-size objects, no ports.
 *
 *   pool-only [tarn options] [-r ROUNDS]
 *
 * Makes a pool of 1024 `struct session` objects (built once by a
 * constructor), takes and gives them back in bulk (all or nothing) for
 * ROUNDS rounds (default 100000), shows that a get larger than what is left
 * fails without taking anything, prints the pool's statistics, and checks
 * that every object came back. Exit 0 only if every check passes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tarn/tarn.h>

#define NB_OBJS 1024
#define BULK    32

/* The user's object: anything of a fixed size. */
struct session {
	uint32_t id;   /* set once by the constructor */
	uint32_t uses; /* how many times it was handed out */
	uint64_t bytes;
};

/* Constructor: called once per object when the pool is created. */
static void session_init(struct tarn_mempool *mp, void *arg, void *obj, unsigned idx)
{
	(void)mp;
	(void)arg;
	struct session *s = obj;
	s->id = idx;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: pool-only [tarn options] [-r ROUNDS]\n\n"
	             "Take and give back 1024 objects in bulk for ROUNDS rounds (default\n"
	             "100000), print the pool's statistics and check that every object came\n"
	             "back (exit 0 only then).\n\n");
	tarn_config_usage(out); /* the tarn options */
}

int main(int argc, char **argv)
{
	unsigned long rounds = 100000;
	int opt, ok = 1;
	char *end = "";

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	if (tarn_init_args(&argc, argv) < 0) /* takes the tarn options out of argv */
		return 2;
	while ((opt = getopt(argc, argv, "r:")) != -1)
		rounds = opt == 'r' ? strtoul(optarg, &end, 10) : 0;
	if (rounds == 0 || *end != '\0' || optind != argc) {
		fprintf(stderr, "usage: pool-only [tarn options] [-r ROUNDS] (--help for more)\n");
		tarn_cleanup();
		return 2;
	}

	/* 1024 objects, a 128-object cache per thread, on this thread's socket */
	struct tarn_mempool *mp =
	    tarn_mempool_create("sessions", NB_OBJS, sizeof(struct session), 128, 0, session_init,
	                        NULL, TARN_SOCKET_ANY, 0);
	if (mp == NULL) {
		fprintf(stderr, "pool-only: tarn_mempool_create: %s\n", tarn_strerror(tarn_errno));
		tarn_cleanup();
		return 1;
	}

	struct session *objs[BULK];
	for (unsigned long r = 0; r < rounds && ok; r++) {
		if (tarn_mempool_get_bulk(mp, (void **)objs, BULK) != 0) {
			ok = 0; /* cannot happen here: the pool has 1024 objects */
			break;
		}
		for (unsigned i = 0; i < BULK; i++) {
			ok &= objs[i]->id < NB_OBJS && tarn_mempool_from_obj(objs[i]) == mp;
			objs[i]->uses++;
			objs[i]->bytes += 64;
		}
		tarn_mempool_put_bulk(mp, (void *const *)objs, BULK);
	}

	/* All or nothing: with 1000 objects out, a get of 32 finds 24 and fails. */
	static struct session *held[1000];
	for (unsigned i = 0; i < 1000; i++)
		ok &= tarn_mempool_get(mp, (void **)&held[i]) == 0;
	ok &= tarn_mempool_get_bulk(mp, (void **)objs, BULK) == -ENOBUFS;
	ok &= tarn_mempool_in_use_count(mp) == 1000; /* nothing taken by the failed get */
	for (unsigned i = 0; i < 1000; i++)
		tarn_mempool_put(mp, held[i]);

	struct tarn_mempool_stats st;
	tarn_mempool_stats(mp, &st);
	printf("pool '%s': %u objects of %u bytes, cache %u\n", tarn_mempool_name(mp),
	       tarn_mempool_size(mp), tarn_mempool_elt_size(mp), tarn_mempool_cache_size(mp));
	printf("got %llu, put %llu, %.1f%% from the cache, %llu refills, %llu flushes, "
	       "%llu failed gets\n",
	       (unsigned long long)st.get_objs, (unsigned long long)st.put_objs,
	       st.get_objs ? 100.0 * (double)st.hit_objs / (double)st.get_objs : 0.0,
	       (unsigned long long)st.refills, (unsigned long long)st.flushes,
	       (unsigned long long)st.fails);

	/* Every object back, the pool's invariants intact. */
	unsigned in_use = tarn_mempool_in_use_count(mp);
	ok &= in_use == 0 && tarn_mempool_check(mp) == 0 && st.fails == 1;
	printf("objects in use at the end: %u -> %s\n", in_use, ok ? "ok" : "FAILED");
	tarn_mempool_free(mp, in_use ? TARN_MEMPOOL_FREE_FORCE : 0);
	tarn_cleanup();
	return ok ? 0 : 1;
}
