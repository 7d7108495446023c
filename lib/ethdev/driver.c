/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * driver.c - the table of built-in drivers, the generic keys every driver
 * takes, and what is made from the drivers' key tables: their help lines
 * and the key names an error message lists.
 */
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <string.h>

#include "ethdev_priv.h"

/* The built-in drivers. Referenced from here so a static link pulls them in. */
/* clang-format off */
static const struct tarn__eth_driver *const eth_drivers[] = {
	&tarn__eth_ring_driver,
	&tarn__eth_null_driver,
#ifdef TARN_DRIVER_AF_PACKET
	&tarn__eth_af_packet_driver,
#endif
#ifdef TARN_DRIVER_TAP
	&tarn__eth_tap_driver,
#endif
#ifdef TARN_DRIVER_PCAP
	&tarn__eth_pcap_driver,
#endif
#ifdef TARN_DRIVER_AF_XDP
	&tarn__eth_af_xdp_driver,
#endif
#ifdef TARN_DRIVER_VIRTIO
	&tarn__eth_virtio_driver,
#endif
};
/* clang-format on */
#define NB_DRIVERS TARN_ARRAY_SIZE(eth_drivers)

/* ------------------------------------------------------------------------ */
/* Generic keys */

/* A unicast MAC address, not all zeros. */
static int parse_mac(const char *value, void *field, size_t size, char *why, size_t why_size)
{
	struct tarn_ether_addr m;
	const uint8_t *b = m.addr_bytes;

	(void)size;
	if (tarn_ether_parse_addr(value, &m) < 0 || (b[0] & 1) ||
	    !(b[0] | b[1] | b[2] | b[3] | b[4] | b[5])) {
		snprintf(why, why_size,
		         "expected a unicast address xx:xx:xx:xx:xx:xx, not all zeros");
		return -EINVAL;
	}
	memcpy(field, &m, sizeof(m));
	return 0;
}

const struct tarn__key tarn__eth_generic_keys[] = {
	TARN__KEY_STR_AT("name", struct tarn__eth_generic, name,
	                 "the port's name, unique among the open ports", .metavar = "NAME",
	                 .def_text = "the driver's name and the port id (ring0)"),
	TARN__KEY_CUSTOM_AT("mac", struct tarn__eth_generic, mac, parse_mac,
	                    "the port's MAC address", .metavar = "XX:XX:XX:XX:XX:XX",
	                    .values = "a unicast address, not all zeros",
	                    .def_text = "02:74:61:72:6e:PP (PP: the port id), or the interface's",
	                    .doc = "A driver on a kernel interface gives it to the interface "
	                           "(which needs CAP_NET_ADMIN) and, without it, takes the "
	                           "interface's"),
	TARN__KEY_UINT_AT("socket", struct tarn__eth_generic, socket, 0, TARN_MAX_SOCKETS - 1,
	                  TARN__ETH_SOCKET_NOT_GIVEN, "the NUMA socket of the port's structures",
	                  .def_text = "the calling thread's socket",
	                  .doc = "Given, it is also the port's numa_node in "
	                         "tarn_eth_dev_info_get()"),
	TARN__KEY_END,
};

int tarn__eth_key_ifname(const char *value, void *field, size_t size, char *why, size_t why_size)
{
	const size_t len = strlen(value);
	int bad = len == 0 || strcmp(value, ".") == 0 || strcmp(value, "..") == 0;

	if (len >= IFNAMSIZ || len >= size) {
		snprintf(why, why_size,
		         "not an interface name: %zu characters long, longer than %d", len,
		         IFNAMSIZ - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)value[i]) || value[i] == '/' || value[i] == ':' ||
		    value[i] == '%')
			bad = 1;
	if (bad) {
		snprintf(why, why_size,
		         "not a valid interface name (no '/', ':', '%%' or white space; not '.' or "
		         "'..')");
		return -EINVAL;
	}
	memcpy(field, value, len + 1);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The table */

unsigned tarn_eth_driver_count(void)
{
	return NB_DRIVERS;
}

const char *tarn_eth_driver_name(unsigned idx)
{
	return idx < NB_DRIVERS ? eth_drivers[idx]->name : NULL;
}

const struct tarn__eth_driver *tarn__eth_driver_find(const char *name)
{
	for (size_t i = 0; i < NB_DRIVERS; i++)
		if (strcmp(eth_drivers[i]->name, name) == 0)
			return eth_drivers[i];
	return NULL;
}

const struct tarn__eth_driver *tarn__eth_driver_of(const char *spec, const struct tarn__eth_spec *s)
{
	const struct tarn__eth_driver *drv = tarn__eth_driver_find(s->driver);
	char names[128] = "";
	size_t off = 0;

	if (drv != NULL)
		return drv;
	for (size_t i = 0; i < NB_DRIVERS && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
		                        eth_drivers[i]->name);
	TARN__ERR(TARN__ETH_LOG, "port spec '%s': unknown driver '%s' (drivers: %s)", spec,
	          s->driver, names);
	return NULL;
}

void tarn__eth_valid_keys(const struct tarn__eth_driver *drv, char *buf, size_t size)
{
	const struct tarn__key *lists[2] = { tarn__eth_generic_keys, drv->keys };
	size_t off = 0;

	buf[0] = '\0';
	for (int l = 0; l < 2; l++) {
		for (const struct tarn__key *k = lists[l]; k != NULL && k->name != NULL; k++) {
			int n = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", k->name);
			if (n < 0 || (size_t)n >= size - off)
				return;
			off += (size_t)n;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Help */

/* One line per driver, made from its key table on first use. */
static char driver_help[NB_DRIVERS][1024];
static pthread_once_t driver_help_once = PTHREAD_ONCE_INIT;

static void driver_help_make(void)
{
	for (size_t i = 0; i < NB_DRIVERS; i++) {
		const struct tarn__eth_driver *drv = eth_drivers[i];
		char *buf = driver_help[i];
		const size_t size = sizeof(driver_help[i]);
		size_t off = (size_t)snprintf(buf, size, "%s", drv->summary);

		for (const struct tarn__key *k = drv->keys; k != NULL && k->name != NULL; k++) {
			if (off < size)
				off += (size_t)snprintf(buf + off, size - off, "%s",
				                        k == drv->keys ? ": " : ", ");
			if (off < size)
				off += (size_t)tarn__key_usage(k, buf + off, size - off);
		}
	}
}

const char *tarn_eth_driver_help(unsigned idx)
{
	if (idx >= NB_DRIVERS)
		return NULL;
	pthread_once(&driver_help_once, driver_help_make);
	return driver_help[idx];
}
