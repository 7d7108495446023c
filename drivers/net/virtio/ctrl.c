/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctrl.c - the control queue (virtio 1.x, 5.1.6.5): one command at a time,
 * synchronously (ethdev's control lock serialises the callers).
 *
 * A command is three descriptors, always the first three: the class and
 * command bytes, the data, and the one-byte ack the device writes, all in
 * a small buffer after the ring in the queue's own DMA-able memory. The
 * driver posts the chain, rings the doorbell and polls the used ring for at
 * most a second.
 */
#include <string.h>
#include <time.h>

#include "virtio_priv.h"

#define CTRL_HDR      0  /* class, command */
#define CTRL_DATA     16 /* up to CTRL_DATA_MAX bytes */
#define CTRL_DATA_MAX 64
#define CTRL_ACK      (CTRL_DATA + CTRL_DATA_MAX)
#define CTRL_BUF      (CTRL_ACK + TARN_CACHE_LINE)
#define CTRL_OK       0

int tarn__vt_ctrl_init(struct vt_ctrlq *c, const struct vt_hw *hw, const char *name, uint16_t index,
                       int socket)
{
	memset(c, 0, sizeof(*c));
	uint16_t max = tarn__vt_queue_max(hw, index);
	if (max == 0) {
		TARN__ERR(VT_LOG, "%s: the control queue %u does not exist", hw->name, index);
		return -EIO;
	}
	uint16_t size = max;
	if (hw->modern) { /* a modern device takes a smaller ring: 64 at most */
		if (size > 64)
			size = 64;
		while (size & (size - 1)) /* down to a power of two */
			size &= (uint16_t)(size - 1);
	}
	int rc = tarn__vt_vq_alloc(&c->vq, hw, name, index, size, socket, CTRL_BUF);
	if (rc < 0)
		return rc;
	c->buf = (uint8_t *)c->vq.desc + tarn__vt_ring_bytes(size, NULL, NULL);
	c->buf_iova = tarn_mem_virt2iova(c->buf);
	return 0;
}

void tarn__vt_ctrl_fini(struct vt_ctrlq *c)
{
	tarn__vt_vq_free(&c->vq);
	c->ready = false;
}

int tarn__vt_ctrl_cmd(struct vt_ctrlq *c, uint8_t cls, uint8_t cmd, const void *data, uint16_t len)
{
	if (!c->ready || c->vq.desc == NULL)
		return -ENOTSUP;
	if (len > CTRL_DATA_MAX)
		return -EINVAL;
	struct vt_vq *vq = &c->vq;
	struct vt_desc *d = vq->desc;
	c->buf[CTRL_HDR] = cls;
	c->buf[CTRL_HDR + 1] = cmd;
	if (len > 0)
		memcpy(c->buf + CTRL_DATA, data, len);
	c->buf[CTRL_ACK] = 0xff;
	uint16_t i = 0;
	d[i] = (struct vt_desc){ c->buf_iova + CTRL_HDR, 2, VT_DESC_F_NEXT, 1 };
	if (len > 0) {
		i++;
		d[i] = (struct vt_desc){ c->buf_iova + CTRL_DATA, len, VT_DESC_F_NEXT, 2 };
	} else {
		d[i].next = 2;
	}
	d[2] = (struct vt_desc){ c->buf_iova + CTRL_ACK, 1, VT_DESC_F_WRITE, 0 };
	vq->avail->ring[vq->avail_idx++ & vq->mask] = 0;
	tarn__vt_publish(vq);
	for (int t = 0; t < 100000; t++) {
		if (tarn__vt_used_ready(vq) > 0) {
			vq->used_cons++;
			/* acquire above: the ack byte written before used->idx */
			uint8_t ack = __atomic_load_n(&c->buf[CTRL_ACK], __ATOMIC_RELAXED);
			if (ack != CTRL_OK) {
				TARN__ERR(VT_LOG, "%s: control command %u/%u refused by the device",
				          vq->hw->name, cls, cmd);
				return -EIO;
			}
			return 0;
		}
		struct timespec ts = { 0, 10000 };
		nanosleep(&ts, NULL);
	}
	TARN__ERR(VT_LOG, "%s: control command %u/%u: no answer from the device in 1 s",
	          vq->hw->name, cls, cmd);
	c->ready = false; /* the chain may still be the device's: no reuse */
	return -ETIMEDOUT;
}
