/* SPDX-License-Identifier: BSD-3-Clause */
/* topology.c - sockets and CPUs, from libnuma (one socket where NUMA is unavailable). */
#include <numa.h>
#include <sched.h>
#include <unistd.h>

#include "env_priv.h"
#include "lcore_priv.h"

#define MAX_CPUS 1024

static pthread_once_t topo_once = PTHREAD_ONCE_INIT;
static unsigned n_sockets = 1;
static unsigned n_cpus = 1;
static int cpu_socket[MAX_CPUS];

static void topo_load(void)
{
	long c = sysconf(_SC_NPROCESSORS_CONF);
	n_cpus = c < 1 ? 1 : c > MAX_CPUS ? MAX_CPUS : (unsigned)c;
	if (numa_available() < 0) {
		n_sockets = 1;
		for (unsigned i = 0; i < n_cpus; i++)
			cpu_socket[i] = 0;
		return;
	}
	int max_node = numa_max_node();
	n_sockets = max_node < 0 ? 1 : (unsigned)max_node + 1;
	if (n_sockets > TARN_MAX_SOCKETS)
		n_sockets = TARN_MAX_SOCKETS;
	for (unsigned i = 0; i < n_cpus; i++) {
		int node = numa_node_of_cpu((int)i);
		/* A CPU whose node is unknown or beyond what tarn manages is
		 * counted on socket 0, so every CPU has a valid socket. */
		cpu_socket[i] = node < 0 || (unsigned)node >= n_sockets ? 0 : node;
	}
}

static void topo_init(void)
{
	pthread_once(&topo_once, topo_load);
}

unsigned tarn_socket_count(void)
{
	topo_init();
	return n_sockets;
}

unsigned tarn_cpu_count(void)
{
	topo_init();
	return n_cpus;
}

int tarn_cpu_socket(unsigned cpu)
{
	topo_init();
	if (cpu >= n_cpus)
		return -EINVAL;
	return cpu_socket[cpu];
}

int tarn_thread_socket(void)
{
	int s = tarn__lcore_self_socket();
	if (s >= 0)
		return s;
	int cpu = sched_getcpu();
	if (cpu < 0)
		return 0;
	s = tarn_cpu_socket((unsigned)cpu);
	return s < 0 ? 0 : s;
}

int tarn_socket_id(void) __attribute__((alias("tarn_thread_socket")));

int tarn_socket_resolve(int socket)
{
	if (socket == TARN_SOCKET_ANY)
		return tarn_thread_socket();
	if (socket < 0 || (unsigned)socket >= tarn_socket_count())
		return -EINVAL;
	return socket;
}

void tarn_topology_dump(FILE *out)
{
	if (out == NULL)
		return;
	topo_init();
	fprintf(out, "topology: %u socket%s, %u cpu%s%s\n", n_sockets, n_sockets == 1 ? "" : "s",
	        n_cpus, n_cpus == 1 ? "" : "s",
	        numa_available() < 0 ? " (NUMA not available: one socket)" : "");
	for (unsigned s = 0; s < n_sockets; s++) {
		fprintf(out, "  socket %u: cpus", s);
		int first = -1, last = -2;
		for (unsigned c = 0; c <= n_cpus; c++) {
			int on = c < n_cpus && cpu_socket[c] == (int)s;
			if (on && (int)c == last + 1) {
				last = (int)c;
				continue;
			}
			if (first >= 0)
				fprintf(out, first == last ? " %d" : " %d-%d", first, last);
			first = on ? (int)c : -1;
			last = on ? (int)c : -2;
		}
		fprintf(out, "\n");
	}
	uint32_t id;
	if (!tarn_initialized())
		return;
	fprintf(out, "lcores: %u (main %u)\n", tarn_lcore_count(), tarn_lcore_main());
	TARN_LCORE_FOREACH(id)
	{
		fprintf(out, "  lcore %u: cpu %d, socket %d%s\n", id, tarn_lcore_cpu(id),
		        tarn_lcore_socket(id), id == tarn_lcore_main() ? " (main)" : "");
	}
}
