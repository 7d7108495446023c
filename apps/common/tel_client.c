/* SPDX-License-Identifier: BSD-3-Clause */
/* tel_client.c - a telemetry v2 client (tel_client.h). */
#include "tel_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "app_util.h"

int tel_connect(struct tel_conn *c, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	c->fd = -1;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		const int e = errno;
		close(c->fd);
		c->fd = -1;
		return -e;
	}
	return 0;
}

long tel_recv(struct tel_conn *c, size_t cap, double deadline)
{
	for (;;) {
		const double left = deadline - app_now_s();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue; /* the deadline check above ends it */
		if (r < 0)
			return -errno;
		/* MSG_TRUNC: the real length, to refuse a message cut short */
		ssize_t n = recv(c->fd, c->buf, cap, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if ((size_t)n > cap)
			return -EMSGSIZE;
		c->buf[n] = '\0';
		return n;
	}
}

int tel_read_info(struct tel_conn *c, double deadline, size_t max_cap, long *pid, char *version,
                  size_t vlen)
{
	free(c->buf);
	c->buf = malloc(1025);
	if (c->buf == NULL)
		return -ENOMEM;
	long n = tel_recv(c, 1024, deadline);
	if (n < 0)
		return (int)n;
	struct jdoc *d = jdoc_parse(c->buf, (size_t)n, NULL, 0);
	const uint64_t max_len = d != NULL ? jget_u64(d->root, "max_output_len", 0) : 0;
	const struct jval *p = d != NULL ? jget(d->root, "pid") : NULL;
	int rc = -EPROTO;
	if (p != NULL && max_len >= 64) {
		*pid = (long)jval_u64(p, 0);
		app_copy_str(version, vlen, jget_str(d->root, "version", "?"));
		c->max_len = max_len > max_cap ? max_cap : (size_t)max_len;
		free(c->buf);
		c->buf = malloc(c->max_len + 1);
		rc = c->buf != NULL ? 0 : -ENOMEM;
	}
	jdoc_free(d);
	return rc;
}

void tel_close(struct tel_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	jdoc_free(c->doc);
	c->doc = NULL;
	free(c->buf);
	c->buf = NULL;
}

unsigned tel_ids(const struct jval *list, unsigned *ids, unsigned max)
{
	unsigned n = 0;
	for (const struct jval *e = list != NULL ? list->child : NULL; e != NULL && n < max;
	     e = e->next)
		if (e->type == J_NUM && e->is_u64 && e->u64 < 1000000)
			ids[n++] = (unsigned)e->u64;
	return n;
}

void tel_port_counts_read(const struct jval *v, struct tel_port_counts *c)
{
	c->ipackets = jget_u64(v, "ipackets", 0);
	c->opackets = jget_u64(v, "opackets", 0);
	c->ibytes = jget_u64(v, "ibytes", 0);
	c->obytes = jget_u64(v, "obytes", 0);
	c->imissed = jget_u64(v, "imissed", 0);
	c->ierrors = jget_u64(v, "ierrors", 0);
	c->oerrors = jget_u64(v, "oerrors", 0);
	c->rx_nombuf = jget_u64(v, "rx_nombuf", 0);
}

void tel_lcore_read(const struct jval *v, unsigned id, const char *role_def, struct tel_lcore *l)
{
	l->id = id;
	app_copy_str(l->role, sizeof(l->role), jget_str(v, "role", role_def));
	l->cpu = (long)jget_num(v, "cpu", -1);
	l->socket = (long)jget_num(v, "socket", -1);
	l->polls = jget_u64(v, "polls", 0);
	l->busy = jget_u64(v, "busy_polls", 0);
}

void tel_pool_counts_read(const struct jval *v, struct tel_pool_counts *c)
{
	c->size = jget_u64(v, "size", 0);
	c->avail = jget_u64(v, "avail", 0);
	c->in_use = jget_u64(v, "in_use", 0);
	c->cached = jget_u64(v, "cached", 0);
	c->cache_size = jget_u64(v, "cache_size", 0);
	c->elt_size = jget_u64(v, "elt_size", 0);
	c->reserve = jget_u64(v, "reserve", 0);
	c->get_objs = jget_u64(v, "get_objs", 0);
	c->hit_objs = jget_u64(v, "hit_objs", 0);
	c->put_objs = jget_u64(v, "put_objs", 0);
	c->refills = jget_u64(v, "refills", 0);
	c->refill_objs = jget_u64(v, "refill_objs", 0);
	c->flushes = jget_u64(v, "flushes", 0);
	c->flush_objs = jget_u64(v, "flush_objs", 0);
	c->direct_gets = jget_u64(v, "direct_gets", 0);
	c->direct_puts = jget_u64(v, "direct_puts", 0);
	c->fails = jget_u64(v, "fails", 0);
	c->fail_objs = jget_u64(v, "fail_objs", 0);
	c->reserved_objs = jget_u64(v, "reserved_objs", 0);
}
