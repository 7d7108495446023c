/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rundir.c - where this user's telemetry sockets go: DPDK's runtime
 * directory when it is safe for this user, else the user's own fallback;
 * and the checks the server repeats on each directory it opens.
 *
 * A directory is safe when it is a real directory (not a symbolic link) of
 * the effective user that group and others cannot write. Its parent must
 * belong to this user or root and be closed to group and others, or sticky
 * (as /tmp), so that nobody else can rename it away and put their own in its
 * place.
 */
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "telemetry_priv.h"

void tarn__tel_who(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res != NULL)
		snprintf(buf, size, "user %s (uid %u)", res->pw_name, (unsigned)uid);
	else
		snprintf(buf, size, "uid %u", (unsigned)uid);
}

int tarn__tel_dir_check(const char *path, const struct stat *st, char *why, size_t size)
{
	const uid_t me = geteuid();
	if (S_ISLNK(st->st_mode)) {
		snprintf(why, size, "%s is a symbolic link", path);
		return -EPERM;
	}
	if (!S_ISDIR(st->st_mode)) {
		snprintf(why, size, "%s is not a directory", path);
		return -ENOTDIR;
	}
	const int foreign = st->st_uid != me, open_w = (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
	if (!foreign && !open_w)
		return 0;
	char owner[96], self[96], mode[96] = "";
	if (open_w)
		snprintf(mode, sizeof(mode), "%s writable by %s (mode %04o)",
		         foreign ? " and is" : "is",
		         (st->st_mode & S_IWOTH) ? "others" : "its group",
		         (unsigned)(st->st_mode & 07777));
	if (foreign) {
		tarn__tel_who(st->st_uid, owner, sizeof(owner));
		tarn__tel_who(me, self, sizeof(self));
		snprintf(why, size, "%s belongs to %s, not to %s%s", path, owner, self, mode);
	} else {
		snprintf(why, size, "%s %s", path, mode);
	}
	return -EPERM;
}

/* Can the parent `base` be trusted to keep `<base>/dpdk` in place? It is
 * followed (/var/run is a link to /run). 0, or -EPERM with `why`; a parent
 * that does not exist passes (creating in it fails later, and says so). */
static int base_check(const char *base, char *why, size_t size)
{
	struct stat st;
	if (stat(base, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, size, "%s is not a directory", base);
		return -ENOTDIR;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		char owner[96];
		tarn__tel_who(st.st_uid, owner, sizeof(owner));
		snprintf(why, size, "%s belongs to %s, who could replace anything in it", base,
		         owner);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(why, size,
		         "%s is writable by %s without the sticky bit (mode %04o): anyone could "
		         "replace what is in it",
		         base, (st.st_mode & S_IWOTH) ? "others" : "its group",
		         (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* `path` if it exists must pass tarn__tel_dir_check(); absent passes. */
static int existing_check(const char *path, char *why, size_t size)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	return tarn__tel_dir_check(path, &st, why, size);
}

/* The directory DPDK's client computes (dpdk-telemetry.py). */
static int dpdk_base(char *buf, size_t size)
{
	const char *base = getenv("RUNTIME_DIRECTORY");
	if (base == NULL || base[0] == '\0') {
		if (getuid() == 0) {
			base = "/var/run";
		} else {
			base = getenv("XDG_RUNTIME_DIR");
			if (base == NULL || base[0] == '\0')
				base = "/tmp";
		}
	}
	int n = snprintf(buf, size, "%s", base);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

/* Append "; `s`" (or `s`) to the refusals. */
static void note(struct tarn__tel_rundir *r, const char *s)
{
	size_t len = strlen(r->why);
	snprintf(r->why + len, sizeof(r->why) - len, "%s%s", len ? "; " : "", s);
}

int tarn__tel_rundir_resolve(struct tarn__tel_rundir *r)
{
	memset(r, 0, sizeof(*r));
	const unsigned uid = (unsigned)geteuid();
	char why[256];
	for (int c = 0; c < 3; c++) {
		char base[sizeof(r->base)];
		int own_base = 0;
		if (c == 0) {
			if (dpdk_base(base, sizeof(base)) < 0)
				return -ENAMETOOLONG;
		} else if (c == 1) {
			snprintf(base, sizeof(base), "/run/user/%u", uid);
			struct stat st;
			/* systemd-logind's; used only where it exists */
			if (stat(base, &st) != 0 || strcmp(base, r->base) == 0)
				continue;
		} else {
			snprintf(base, sizeof(base), "/tmp/tarn-%u", uid);
			own_base = 1;
		}
		char dir[sizeof(r->dir)];
		int n = snprintf(dir, sizeof(dir), "%s/dpdk", base);
		if (n < 0 || (size_t)n >= sizeof(dir)) {
			if (c == 0)
				return -ENAMETOOLONG;
			continue;
		}
		int rc = own_base ? existing_check(base, why, sizeof(why))
		                  : base_check(base, why, sizeof(why));
		if (rc == 0)
			rc = existing_check(dir, why, sizeof(why));
		if (rc < 0) {
			note(r, why);
			continue;
		}
		memcpy(r->base, base, sizeof(base));
		memcpy(r->dir, dir, sizeof(dir));
		r->own_base = own_base;
		r->fallback = c > 0;
		return 0;
	}
	return -EACCES;
}

/* ------------------------------------------------------------------------ */
/* The public calls */

int tarn_telemetry_runtime_dir(char *buf, size_t size)
{
	if (buf == NULL)
		return -EINVAL;
	struct tarn__tel_rundir r;
	int rc = tarn__tel_rundir_resolve(&r);
	if (rc < 0)
		return rc;
	size_t n = strlen(r.dir);
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, r.dir, n + 1);
	return (int)n;
}

int tarn_telemetry_runtime_dir_refusals(char *buf, size_t size)
{
	if (buf == NULL && size > 0)
		return -EINVAL;
	struct tarn__tel_rundir r;
	int rc = tarn__tel_rundir_resolve(&r);
	if (rc == -ENAMETOOLONG)
		snprintf(r.why, sizeof(r.why), "the runtime directory's path is too long");
	int n = snprintf(buf, size, "%s", r.why);
	return n < 0 ? 0 : n;
}

int tarn_telemetry_socket_path(const char *prefix, unsigned instance, char *buf, size_t size)
{
	if (prefix == NULL || buf == NULL || prefix[0] == '\0' || strchr(prefix, '/') != NULL ||
	    strcmp(prefix, ".") == 0 || strcmp(prefix, "..") == 0)
		return -EINVAL;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int rc = tarn_telemetry_runtime_dir(dir, sizeof(dir));
	if (rc < 0)
		return rc;
	char path[sizeof(dir)];
	int n;
	if (instance > 0)
		n = snprintf(path, sizeof(path), "%s/%s/%s:%u", dir, prefix,
		             TARN_TELEMETRY_SOCKET_NAME, instance);
	else
		n = snprintf(path, sizeof(path), "%s/%s/%s", dir, prefix,
		             TARN_TELEMETRY_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(path) || (size_t)n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, path, (size_t)n + 1);
	return n;
}
