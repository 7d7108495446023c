/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_telemetry: the telemetry request parser, every command and the JSON
 * reply builder, driven without a socket through the entry the server uses
 * (tarn__tel_exec_locked(): the bytes of one request as recv() gave them).
 * tarn runs with an mbuf pool, a cable of two ring ports and a null port,
 * so the mempool, ethdev and lcore commands have something to report.
 *
 * The first byte picks what the rest is:
 *   0  a raw request ("command[,params]", any bytes: NULs, newlines, > 1 KiB)
 *   1  a command of the table (next byte) with the rest as its params
 *   2  a reply-builder script on a buffer of 0..1023 bytes (next two bytes)
 *   3  the same script run by a registered command through the full request
 *      path (replies up to max_output_len, cut when longer)
 * A script is a sequence of builder calls (start, scalars and strings with
 * keys and values from the input, nested containers, close, repeats, long
 * strings): misuse must get an error, never a bad reply.
 *
 * Checked: every reply is NUL-terminated, its length is what was returned,
 * at most TARN_TELEMETRY_MAX_OUTPUT bytes, one valid JSON object whose key
 * is the (escaped) command; a builder never writes past its buffer (a canary
 * after it) and what it finished is valid JSON.
 */
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_json.h"
#include "telemetry_priv.h"

static char names[TARN_TELEMETRY_MAX_CMDS][TARN_TELEMETRY_CMD_MAX];
static unsigned nb_names;

/* The input being run by the script (mode 3: the command's callback). */
static const uint8_t *script_p;
static size_t script_n;

struct rd {
	const uint8_t *p;
	size_t n;
};

static unsigned rd_u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static uint64_t rd_u64(struct rd *r)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | rd_u8(r);
	return v;
}

/* A string of the input: a length byte (255: NULL), then that many bytes (a
 * NUL among them ends it). Lengths above TARN_TELEMETRY_NAME_MAX try the
 * key length check. */
static const char *rd_str(struct rd *r, char *buf, size_t size)
{
	unsigned len = rd_u8(r);
	if (len == 255)
		return NULL;
	len %= 96;
	size_t i = 0;
	for (; i < len && i + 1 < size && r->n > 0; i++)
		buf[i] = (char)rd_u8(r);
	buf[i] = '\0';
	return buf;
}

static void run_script(struct tarn_telemetry_data *d, const uint8_t *p, size_t n)
{
	struct rd r = { p, n };
	char name[128], str[128];
	static char big[64 * 1024 + 1];
	unsigned last = 0, calls = 0;
	/* at most 8192 calls: enough to fill max_output_len many times over */
	while (r.n > 0 && calls < 8192) {
		unsigned op = rd_u8(&r) % 20, reps = 1;
		if (op == 18) { /* repeat the last call 16 * k times (not a long string) */
			reps = 16 * (rd_u8(&r) % 64);
			op = last == 19 ? 17 : last;
		}
		const char *k = NULL, *s = NULL;
		uint64_t v = 0;
		double dv;
		switch (op) {
		case 2:
		case 14:
			s = rd_str(&r, str, sizeof(str));
			break;
		case 3:
		case 4:
		case 5:
		case 6:
			k = rd_str(&r, name, sizeof(name));
			v = rd_u64(&r);
			break;
		case 7:
			k = rd_str(&r, name, sizeof(name));
			s = rd_str(&r, str, sizeof(str));
			break;
		case 8:
		case 9:
			k = rd_str(&r, name, sizeof(name));
			break;
		case 10:
		case 11:
		case 12:
		case 13:
			v = rd_u64(&r);
			break;
		case 19: { /* a long string: up to 64 KiB of one pattern */
			size_t len = (size_t)rd_u8(&r) << 8 | rd_u8(&r);
			unsigned a = rd_u8(&r), b = rd_u8(&r);
			for (size_t i = 0; i < len; i++)
				big[i] = (char)(i & 1 ? b : a);
			big[len] = '\0';
			s = big;
			k = "k";
			break;
		}
		default:
			break;
		}
		memcpy(&dv, &v, sizeof(dv));
		for (unsigned i = 0; i < reps; i++, calls++) {
			switch (op) {
			case 0:
				tarn_telemetry_start_dict(d);
				break;
			case 1:
				tarn_telemetry_start_array(d);
				break;
			case 2:
				tarn_telemetry_string(d, s);
				break;
			case 3:
				tarn_telemetry_dict_int(d, k, (int64_t)v);
				break;
			case 4:
				tarn_telemetry_dict_uint(d, k, v);
				break;
			case 5:
				tarn_telemetry_dict_double(d, k, dv);
				break;
			case 6:
				tarn_telemetry_dict_bool(d, k, (int)(v & 1));
				break;
			case 7:
				tarn_telemetry_dict_string(d, k, s);
				break;
			case 8:
				tarn_telemetry_dict_open_dict(d, k);
				break;
			case 9:
				tarn_telemetry_dict_open_array(d, k);
				break;
			case 10:
				tarn_telemetry_array_int(d, (int64_t)v);
				break;
			case 11:
				tarn_telemetry_array_uint(d, v);
				break;
			case 12:
				tarn_telemetry_array_double(d, dv);
				break;
			case 13:
				tarn_telemetry_array_bool(d, (int)(v & 1));
				break;
			case 14:
				tarn_telemetry_array_string(d, s);
				break;
			case 15:
				tarn_telemetry_array_open_dict(d);
				break;
			case 16:
				tarn_telemetry_array_open_array(d);
				break;
			case 17:
				tarn_telemetry_close(d);
				break;
			case 19:
				if (!d->started)
					tarn_telemetry_string(d, s);
				else if (d->depth > 0 && d->kind[d->depth - 1] == TEL_DICT)
					tarn_telemetry_dict_string(d, k, s);
				else
					tarn_telemetry_array_string(d, s);
				break;
			default:
				break;
			}
		}
		last = op;
	}
}

static int cmd_fuzz_build(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd, (void)params;
	run_script(d, script_p, script_n);
	return 0;
}

static void fail(const char *what, const char *reply, size_t len)
{
	fprintf(stderr, "fuzz_telemetry: %s (reply of %zu bytes): %.400s\n", what, len, reply);
	abort();
}

/* Run one request and check the reply. */
static void request(const char *req, size_t n)
{
	static char out[TARN_TELEMETRY_MAX_OUTPUT + 1 + 64];
	memset(out + TARN_TELEMETRY_MAX_OUTPUT + 1, 0x5a, 64);
	pthread_mutex_lock(&tarn__tel_exec_lock);
	size_t len = tarn__tel_exec_locked(req, n, out, TARN_TELEMETRY_MAX_OUTPUT + 1);
	pthread_mutex_unlock(&tarn__tel_exec_lock);
	for (int i = 0; i < 64; i++)
		if ((unsigned char)out[TARN_TELEMETRY_MAX_OUTPUT + 1 + i] != 0x5a)
			fail("written past the reply buffer", out, len);
	if (len > TARN_TELEMETRY_MAX_OUTPUT)
		fail("reply longer than max_output_len", out, len);
	if (out[len] != '\0' || strlen(out) != len)
		fail("reply length or NUL wrong", out, len);
	if (len < 2 || out[0] != '{' || out[len - 1] != '}' || !fjson_valid(out, len))
		fail("reply is not one valid JSON object", out, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init_tarn("tarn-fuzz-telemetry");
	struct tarn_mempool *mp =
	    tarn_pktmbuf_pool_create("fz_tel", 512, 0, 0, TARN_MBUF_DEFAULT_BUF_SIZE, 0);
	uint16_t ports[3];
	const char *specs[] = { "ring:name=fza", "ring:name=fzb,peer=fza", "null:name=fzn" };
	if (mp == NULL)
		abort();
	for (int i = 0; i < 3; i++) {
		if (tarn_eth_dev_create(specs[i], &ports[i]) < 0 ||
		    tarn_eth_dev_configure(ports[i], 1, 1, NULL) < 0 ||
		    tarn_eth_rx_queue_setup(ports[i], 0, 128, TARN_SOCKET_ANY, mp) < 0 ||
		    tarn_eth_tx_queue_setup(ports[i], 0, 128, TARN_SOCKET_ANY) < 0 ||
		    tarn_eth_dev_start(ports[i]) < 0)
			abort();
	}
	/* some traffic, so the counters are not all 0 */
	struct tarn_mbuf *m[8];
	if (tarn_pktmbuf_alloc_bulk(mp, m, 8) < 0)
		abort();
	for (int i = 0; i < 8; i++)
		tarn_pktmbuf_append(m[i], 60);
	uint16_t sent = tarn_eth_tx_burst(ports[0], 0, m, 8);
	tarn_pktmbuf_free_bulk(m + sent, 8 - sent);
	if (tarn_telemetry_register_cmd("/fuzz/build", cmd_fuzz_build, "fuzz: a builder script") <
	    0)
		abort();
	/* The command table, from "/". */
	char *list = malloc(TARN_TELEMETRY_MAX_OUTPUT + 1);
	if (list == NULL || tarn_telemetry_query("/", list, TARN_TELEMETRY_MAX_OUTPUT + 1) < 0)
		abort();
	for (char *p = strchr(list, '['); p != NULL && nb_names < TARN_TELEMETRY_MAX_CMDS;) {
		char *a = strchr(p, '"');
		char *b = a != NULL ? strchr(a + 1, '"') : NULL;
		if (b == NULL)
			break;
		snprintf(names[nb_names++], TARN_TELEMETRY_CMD_MAX, "%.*s", (int)(b - a - 1),
		         a + 1);
		p = b + 1;
	}
	free(list);
	if (nb_names < 10)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 4 * TARN_TELEMETRY_MAX_REQUEST)
		return 0;
	const unsigned mode = data[0] % 4;
	data++, size--;
	switch (mode) {
	case 0:
		request((const char *)data, size);
		break;
	case 1: {
		if (size == 0)
			return 0;
		char req[2 * TARN_TELEMETRY_MAX_REQUEST];
		const char *c = names[data[0] % nb_names];
		int n = snprintf(req, sizeof(req), "%s,", c);
		size_t k = size - 1 < sizeof(req) - (size_t)n ? size - 1 : sizeof(req) - (size_t)n;
		memcpy(req + n, data + 1, k);
		request(req, (size_t)n + k);
		break;
	}
	case 2: {
		if (size < 2)
			return 0;
		const size_t cap = ((size_t)data[0] << 8 | data[1]) % 1024;
		static char buf[1024 + 64];
		memset(buf, 0x5a, sizeof(buf));
		struct tarn_telemetry_data d;
		tarn__tel_data_init(&d, buf, cap, "fuzz");
		run_script(&d, data + 2, size - 2);
		size_t len = tarn__tel_data_finish(&d);
		for (size_t i = cap; i < sizeof(buf); i++)
			if ((unsigned char)buf[i] != 0x5a)
				fail("the builder wrote past its buffer", buf, len);
		if (len > cap)
			fail("the builder's length is past its buffer", buf, len);
		if (len > 0 && !fjson_valid(buf, len))
			fail("the builder made invalid JSON", buf, len);
		break;
	}
	case 3:
		script_p = data;
		script_n = size;
		request("/fuzz/build", 11);
		script_p = NULL; /* other modes may name the command too */
		script_n = 0;
		break;
	}
	return 0;
}
