/* The click spool (include/trackdoc/spool.h): checksummed, length-prefixed records appended to a
 * file and fsynced; replayed from a renamed copy of that file, so that appends never wait for a
 * replay and a crash at any point leaves every acknowledged click on disk at least once. */
#include "core/common.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/log.h"
#include "trackdoc/buf.h"
#include "trackdoc/spool.h"

/* A record: "TDS1", the payload's length and the CRC-32 of length and payload (little-endian
 * 32-bit numbers), then the payload: a version byte (1), clicked_at (64 bits), click_source and
 * click_class (32 bits), head (a byte), then the click's strings, each a 32-bit length (NO_STR
 * for NULL), its bytes and a NUL. */
#define HDR 12
#define REC_MAX ((uint32_t)1 << 20)
#define NO_STR 0xFFFFFFFFu
#define VERSION 1
#define FIXED (1 + 8 + 4 + 4 + 1)
#define BATCH_MAX 4096

static const unsigned char magic[4] = {'T', 'D', 'S', '1'};

struct td_spool {
    char path[PATH_MAX], replay_path[PATH_MAX], lock_path[PATH_MAX];
    char dir[PATH_MAX];
    int fd, lock_fd;           /* fd: the file appends go to, -1 when it must be opened again */
    pthread_mutex_t mu;        /* the file appended to and every counter */
    pthread_mutex_t replay_mu; /* one replay at a time */
    bool mutexes;
    uint64_t max_bytes;
    uint64_t size, records; /* of the file appended to */
    /* path.replay, when it exists: its size and clicks, how many went through, and where the
     * next batch begins. */
    bool replay_pending;
    uint64_t replay_size, replay_records, replay_done, replay_off;
    bool broken; /* an fsync failed: what the file holds is unknown, no more appends */
    td_spool_stats st;
};

/* Writes a message into err when there is one. */
static void set_err(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errsz)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

/* Stores v little-endian in 4 bytes. */
static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Reads a little-endian 32-bit number. */
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The CRC-32 of a record's length field and payload. */
static uint32_t record_crc(const unsigned char *len_field, const unsigned char *payload,
                           uint32_t len)
{
    uLong crc = crc32(0L, len_field, 4);

    return (uint32_t)crc32(crc, payload, len);
}

/* Appends a 32-bit number. */
static int add32(td_buf *b, uint32_t v)
{
    unsigned char p[4];

    put32(p, v);
    return td_buf_add(b, p, 4);
}

/* Appends an optional string: its length (NO_STR for NULL), its bytes and a NUL. */
static int add_str(td_buf *b, const char *s)
{
    size_t n;
    int rc;

    if (!s)
        return add32(b, NO_STR);
    n = strlen(s);
    if (n >= REC_MAX)
        return TD_ETOOBIG;
    if ((rc = add32(b, (uint32_t)n)) != 0)
        return rc;
    return td_buf_add(b, s, n + 1);
}

/* Appends the record of one click to b. */
static int encode(td_buf *b, const td_click *c)
{
    const char *strs[] = {c->click_id,   c->tracking_id,  c->ip_address,
                          c->user_agent, c->referrer_url, c->session_id,
                          c->metadata,   c->class_reason, c->visitor_hash};
    unsigned char fixed[FIXED], *h;
    size_t start = b->len, len;
    uint64_t at = (uint64_t)c->clicked_at;
    int rc;

    fixed[0] = VERSION;
    put32(fixed + 1, (uint32_t)at);
    put32(fixed + 5, (uint32_t)(at >> 32));
    put32(fixed + 9, (uint32_t)c->click_source);
    put32(fixed + 13, (uint32_t)c->click_class);
    fixed[17] = c->head ? 1 : 0;
    if ((rc = td_buf_add(b, magic, 4)) != 0 || (rc = add32(b, 0)) != 0 || (rc = add32(b, 0)) != 0 ||
        (rc = td_buf_add(b, fixed, sizeof fixed)) != 0)
        goto out;
    for (size_t i = 0; i < TD_ARRAY_SIZE(strs) && !rc; i++)
        rc = add_str(b, strs[i]);
    if (rc)
        goto out;
    len = b->len - start - HDR;
    if (len > REC_MAX) {
        rc = TD_ETOOBIG;
        goto out;
    }
    h = (unsigned char *)b->data + start;
    put32(h + 4, (uint32_t)len);
    put32(h + 8, record_crc(h + 4, h + HDR, (uint32_t)len));
out:
    if (rc && b->len > start) {
        b->len = start; /* drop the part of the record written */
        b->data[start] = '\0';
    }
    return rc;
}

/* Reads an optional string at *off of the payload p (len bytes): NULL, or a pointer into p. */
static bool get_str(const unsigned char *p, uint32_t len, uint32_t *off, const char **out)
{
    uint32_t n;

    if (len - *off < 4)
        return false;
    n = get32(p + *off);
    *off += 4;
    if (n == NO_STR) {
        *out = NULL;
        return true;
    }
    if (n >= len - *off || p[*off + n] != '\0' || memchr(p + *off, '\0', n))
        return false;
    *out = (const char *)p + *off;
    *off += n + 1;
    return true;
}

/* Decodes a payload into c, whose strings then point into p. Returns false when it is not a
 * click record of this version. */
static bool decode(const unsigned char *p, uint32_t len, td_click *c)
{
    const char *id, *tid;
    uint32_t off = FIXED;

    if (len < FIXED || p[0] != VERSION || p[17] > 1)
        return false;
    memset(c, 0, sizeof *c);
    c->clicked_at = (int64_t)((uint64_t)get32(p + 1) | (uint64_t)get32(p + 5) << 32);
    c->click_source = (td_click_source)(int32_t)get32(p + 9);
    c->click_class = (int)(int32_t)get32(p + 13);
    c->head = p[17] == 1;
    if (!get_str(p, len, &off, &id) || !id || strlen(id) >= sizeof c->click_id ||
        !get_str(p, len, &off, &tid) || !tid || strlen(tid) >= sizeof c->tracking_id ||
        !get_str(p, len, &off, &c->ip_address) || !get_str(p, len, &off, &c->user_agent) ||
        !get_str(p, len, &off, &c->referrer_url) || !get_str(p, len, &off, &c->session_id) ||
        !get_str(p, len, &off, &c->metadata) || !get_str(p, len, &off, &c->class_reason) ||
        !get_str(p, len, &off, &c->visitor_hash) || off != len)
        return false;
    memcpy(c->click_id, id, strlen(id) + 1);
    memcpy(c->tracking_id, tid, strlen(tid) + 1);
    return true;
}

/* True when a whole, intact record begins at off of map (size bytes); c and *len get it. */
static bool record_at(const unsigned char *map, uint64_t size, uint64_t off, td_click *c,
                      uint32_t *len)
{
    const unsigned char *h = map + off;
    uint32_t n;

    if (size - off < HDR || memcmp(h, magic, 4) != 0)
        return false;
    n = get32(h + 4);
    if (n > REC_MAX || n > size - off - HDR || get32(h + 8) != record_crc(h + 4, h + HDR, n))
        return false;
    *len = n;
    return decode(h + HDR, n, c);
}

/* Moves *off to the next intact record at or after it and decodes it into c; bytes passed over
 * are added to *damaged. Returns false at the end of the map. */
static bool next_record(const unsigned char *map, uint64_t size, uint64_t *off, td_click *c,
                        uint32_t *len, uint64_t *damaged)
{
    while (*off < size) {
        const unsigned char *m;
        uint64_t next;

        if (record_at(map, size, *off, c, len))
            return true;
        m = *off + 1 < size ? memmem(map + *off + 1, size - *off - 1, magic, 4) : NULL;
        next = m ? (uint64_t)(m - map) : size;
        *damaged += next - *off;
        *off = next;
    }
    return false;
}

/* Maps a whole file read-only; *map is NULL for an empty file. Returns 0 or TD_EIO. */
static int map_file(int fd, const char *path, const unsigned char **map, uint64_t *size)
{
    struct stat sb;
    void *m;

    *map = NULL;
    *size = 0;
    if (fstat(fd, &sb) != 0) {
        td_log_error("spool %s: %s", path, strerror(errno));
        return TD_EIO;
    }
    if (sb.st_size == 0)
        return 0;
    m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        td_log_error("spool %s: cannot map %lld bytes: %s", path, (long long)sb.st_size,
                     strerror(errno));
        return TD_EIO;
    }
    *map = m;
    *size = (uint64_t)sb.st_size;
    return 0;
}

/* Counts the intact records of a file and where the last one ends. */
static int scan(int fd, const char *path, uint64_t *records, uint64_t *good_end, uint64_t *size)
{
    const unsigned char *map;
    uint64_t off = 0, damaged = 0;
    td_click c;
    uint32_t len;
    int rc = map_file(fd, path, &map, size);

    *records = *good_end = 0;
    if (rc || !map)
        return rc;
    while (next_record(map, *size, &off, &c, &len, &damaged)) {
        off += HDR + len;
        (*records)++;
        *good_end = off;
    }
    munmap((void *)map, *size);
    return 0;
}

/* Makes dir and its parents (0700) when missing. Returns 0 or -1 with errno. */
static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof tmp)
        return errno = ENAMETOOLONG, -1;
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Makes the names in the spool's folder durable (a new file, a rename, an unlink). */
static int sync_dir(td_spool *sp)
{
    int fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0 || fsync(fd) != 0) {
        td_log_error("spool folder %s: cannot sync: %s", sp->dir, strerror(errno));
        rc = TD_EIO;
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Opens (creating) the file appends go to; its name is made durable before any click goes in.
 * Called with mu held, or before the spool is shared. */
static int open_active(td_spool *sp)
{
    sp->fd = open(sp->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (sp->fd < 0) {
        td_log_error("spool %s: cannot open: %s", sp->path, strerror(errno));
        return TD_EIO;
    }
    return sync_dir(sp);
}

/* Fills the spool's paths from path. */
static int set_paths(td_spool *sp, const char *path)
{
    const char *slash = strrchr(path, '/');
    int n = 0;

    if (snprintf(sp->path, sizeof sp->path, "%s", path) >= (int)sizeof sp->path ||
        snprintf(sp->replay_path, sizeof sp->replay_path, "%s.replay", path) >=
            (int)sizeof sp->replay_path ||
        snprintf(sp->lock_path, sizeof sp->lock_path, "%s.lock", path) >= (int)sizeof sp->lock_path)
        return TD_EINVAL;
    if (!slash)
        n = snprintf(sp->dir, sizeof sp->dir, ".");
    else if (slash == path)
        n = snprintf(sp->dir, sizeof sp->dir, "/");
    else
        n = snprintf(sp->dir, sizeof sp->dir, "%.*s", (int)(slash - path), path);
    return n < (int)sizeof sp->dir ? 0 : TD_EINVAL;
}

/* Opens the spool, takes its lock, and counts what an earlier run left in it. */
int td_spool_open(const char *path, uint64_t max_bytes, td_spool **out, char *err, size_t errsz)
{
    td_spool *sp = NULL;
    uint64_t size, good_end;
    int rc = 0, fd;

    *out = NULL;
    if (max_bytes == 0)
        max_bytes = TD_SPOOL_MAX_DEFAULT;
    if (!path || !*path || path[strlen(path) - 1] == '/') {
        set_err(err, errsz, "spool path \"%s\": expected a file name", path ? path : "");
        return TD_EINVAL;
    }
    if (max_bytes < TD_SPOOL_MAX_MIN || max_bytes > TD_SPOOL_MAX_MAX) {
        set_err(err, errsz, "spool size %" PRIu64 " bytes: expected 64 KiB to 1 TiB", max_bytes);
        return TD_EINVAL;
    }
    if (!(sp = calloc(1, sizeof *sp)))
        return TD_ENOMEM;
    sp->fd = sp->lock_fd = -1;
    sp->max_bytes = max_bytes;
    pthread_mutex_init(&sp->mu, NULL);
    pthread_mutex_init(&sp->replay_mu, NULL);
    sp->mutexes = true;
    if (set_paths(sp, path) != 0) {
        set_err(err, errsz, "spool path \"%s\" is too long", path);
        rc = TD_EINVAL;
        goto out;
    }
    if (mkdir_p(sp->dir) != 0) {
        set_err(err, errsz, "spool folder %s: cannot create it: %s", sp->dir, strerror(errno));
        rc = TD_EIO;
        goto out;
    }
    sp->lock_fd = open(sp->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->lock_fd < 0) {
        set_err(err, errsz, "spool %s: cannot open %s: %s", path, sp->lock_path, strerror(errno));
        rc = TD_EIO;
        goto out;
    }
    if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? TD_EBUSY : TD_EIO;
        set_err(err, errsz, "spool %s: %s", path,
                rc == TD_EBUSY ? "in use by another process (each server needs a spool of its own)"
                               : strerror(errno));
        goto out;
    }
    /* A replay that an earlier run did not finish: replayed first, from its beginning. */
    fd = open(sp->replay_path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        rc = scan(fd, sp->replay_path, &sp->replay_records, &good_end, &sp->replay_size);
        close(fd);
        if (rc) {
            set_err(err, errsz, "spool %s: cannot read it", sp->replay_path);
            goto out;
        }
        sp->replay_pending = true;
    } else if (errno != ENOENT) {
        set_err(err, errsz, "spool %s: %s", sp->replay_path, strerror(errno));
        rc = TD_EIO;
        goto out;
    }
    if ((rc = open_active(sp)) != 0 ||
        (rc = scan(sp->fd, sp->path, &sp->records, &good_end, &size)) != 0) {
        set_err(err, errsz, "spool %s: cannot open or read it: %s", path, strerror(errno));
        goto out;
    }
    if (good_end < size) {
        /* A record cut short by a crash during an append was never acknowledged: drop it, so
         * that the next append does not follow damaged bytes. */
        if (ftruncate(sp->fd, (off_t)good_end) != 0 || fdatasync(sp->fd) != 0) {
            set_err(err, errsz, "spool %s: cannot cut off its damaged end: %s", path,
                    strerror(errno));
            rc = TD_EIO;
            goto out;
        }
        td_log_warn("spool %s: %" PRIu64 " damaged bytes at its end cut off (an append "
                    "interrupted by a crash: those clicks had not been answered)",
                    path, size - good_end);
        sp->st.damaged += size - good_end;
    }
    sp->size = good_end;
    if (sp->records || sp->replay_records)
        td_log_info("spool %s: %" PRIu64 " clicks from an earlier run wait for the database", path,
                    sp->records + sp->replay_records);
    *out = sp;
    sp = NULL;
out:
    td_spool_close(sp);
    return rc;
}

/* Closes the files (the lock goes with them) and frees sp. */
void td_spool_close(td_spool *sp)
{
    if (!sp)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    if (sp->lock_fd >= 0)
        close(sp->lock_fd);
    if (sp->mutexes) {
        pthread_mutex_destroy(&sp->mu);
        pthread_mutex_destroy(&sp->replay_mu);
    }
    free(sp);
}

/* The path given to td_spool_open. */
const char *td_spool_path(const td_spool *sp)
{
    return sp->path;
}

/* Writes all of data to fd and syncs it; on failure cuts the file back to keep. */
static int write_synced(int fd, const char *path, const char *data, size_t len, uint64_t keep,
                        bool *broken)
{
    size_t done = 0;

    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            td_log_error("spool %s: write failed: %s", path, w < 0 ? strerror(errno) : "no space");
            if (ftruncate(fd, (off_t)keep) != 0)
                *broken = true;
            return TD_EIO;
        }
        done += (size_t)w;
    }
    if (fdatasync(fd) != 0) {
        /* After a failed fsync the kernel may have dropped the pages: the file's content is
         * unknown, so nothing more is acknowledged from it. */
        td_log_error("spool %s: fsync failed: %s; no more clicks are spooled until restart", path,
                     strerror(errno));
        if (ftruncate(fd, (off_t)keep) != 0)
            td_log_error("spool %s: cannot cut it back: %s", path, strerror(errno));
        *broken = true;
        return TD_EIO;
    }
    return 0;
}

/* Appends the records of n clicks and syncs them. */
int td_spool_append(td_spool *sp, const td_click *clicks, size_t n)
{
    td_buf b;
    int rc = 0;

    if (n == 0)
        return 0;
    td_buf_init(&b, 0);
    for (size_t i = 0; i < n && !rc; i++)
        rc = encode(&b, &clicks[i]);
    if (rc)
        goto out;
    pthread_mutex_lock(&sp->mu);
    if (sp->broken)
        rc = TD_EIO;
    else if (sp->size + sp->replay_size + b.len > sp->max_bytes)
        rc = TD_ETOOBIG;
    else if (sp->fd < 0)
        rc = open_active(sp);
    if (rc == 0)
        rc = write_synced(sp->fd, sp->path, b.data, b.len, sp->size, &sp->broken);
    if (rc == 0) {
        sp->size += b.len;
        sp->records += n;
        sp->st.appended += n;
    }
    pthread_mutex_unlock(&sp->mu);
out:
    td_buf_release(&b);
    return rc;
}

/* Renames the file appends go to as path.replay and starts a new one. Called with mu held. */
static int rotate(td_spool *sp)
{
    if (sp->fd >= 0) {
        close(sp->fd);
        sp->fd = -1;
    }
    if (rename(sp->path, sp->replay_path) != 0) {
        td_log_error("spool %s: cannot rename it to %s: %s", sp->path, sp->replay_path,
                     strerror(errno));
        open_active(sp);
        return TD_EIO;
    }
    sp->replay_pending = true;
    sp->replay_size = sp->size;
    sp->replay_records = sp->records;
    sp->replay_done = sp->replay_off = 0;
    sp->size = sp->records = 0;
    /* A failure here leaves fd at -1: the next append tries again. */
    if (open_active(sp) != 0 && sp->fd >= 0) {
        close(sp->fd);
        sp->fd = -1;
    }
    return 0;
}

struct replay_buf {
    size_t batch;
    td_click *clicks;
    int *row_rc;
    uint32_t *lens;
};

/* Replays path.replay from where the last call stopped; removes it once every click went
 * through. Called with replay_mu held. */
static int replay_file(td_spool *sp, struct replay_buf *rb, td_spool_sink sink, void *ud)
{
    const unsigned char *map = NULL;
    uint64_t size = 0, off;
    int rc = 0, fd = open(sp->replay_path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 && errno != ENOENT) {
        td_log_error("spool %s: %s", sp->replay_path, strerror(errno));
        return TD_EIO;
    }
    if (fd >= 0 && (rc = map_file(fd, sp->replay_path, &map, &size)) != 0)
        goto out;
    pthread_mutex_lock(&sp->mu);
    off = sp->replay_off;
    pthread_mutex_unlock(&sp->mu);
    for (;;) {
        uint64_t o = off, damaged = 0, replayed = 0, refused = 0;
        size_t k = 0;

        while (k < rb->batch && map &&
               next_record(map, size, &o, &rb->clicks[k], &rb->lens[k], &damaged)) {
            o += HDR + rb->lens[k];
            k++;
        }
        if (k > 0) {
            memset(rb->row_rc, 0, k * sizeof *rb->row_rc);
            if ((rc = sink(ud, rb->clicks, k, rb->row_rc)) != 0)
                goto out;
            for (size_t i = 0; i < k; i++) {
                const td_click *c = &rb->clicks[i];
                if (rb->row_rc[i] == 0) {
                    replayed++;
                    continue;
                }
                refused++;
                td_log_warn("spool: click %s of link %s refused by the database (%s): dropped",
                            c->click_id, c->tracking_id, td_strerror(rb->row_rc[i]));
            }
        }
        pthread_mutex_lock(&sp->mu);
        sp->replay_done += k;
        sp->replay_off = o;
        sp->st.damaged += damaged;
        sp->st.replayed += replayed;
        sp->st.refused += refused;
        pthread_mutex_unlock(&sp->mu);
        off = o;
        if (k < rb->batch)
            break; /* the end of the file */
    }
    if (map) {
        munmap((void *)map, size);
        map = NULL;
    }
    if (fd >= 0 && unlink(sp->replay_path) != 0) {
        td_log_error("spool %s: cannot remove it: %s", sp->replay_path, strerror(errno));
        rc = TD_EIO;
        goto out;
    }
    if ((rc = sync_dir(sp)) != 0)
        goto out;
    pthread_mutex_lock(&sp->mu);
    sp->replay_pending = false;
    sp->replay_size = sp->replay_records = sp->replay_done = sp->replay_off = 0;
    pthread_mutex_unlock(&sp->mu);
out:
    if (map)
        munmap((void *)map, size);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Replays everything spooled into sink, a batch at a time. */
int td_spool_replay(td_spool *sp, size_t batch, td_spool_sink sink, void *ud)
{
    struct replay_buf rb = {.batch = batch};
    int rc = 0;

    if (batch < 1 || batch > BATCH_MAX)
        return TD_EINVAL;
    rb.clicks = calloc(batch, sizeof *rb.clicks);
    rb.row_rc = calloc(batch, sizeof *rb.row_rc);
    rb.lens = calloc(batch, sizeof *rb.lens);
    if (!rb.clicks || !rb.row_rc || !rb.lens) {
        rc = TD_ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&sp->replay_mu);
    for (;;) {
        pthread_mutex_lock(&sp->mu);
        if (!sp->replay_pending && sp->size == 0) {
            pthread_mutex_unlock(&sp->mu);
            break;
        }
        if (!sp->replay_pending)
            rc = rotate(sp);
        pthread_mutex_unlock(&sp->mu);
        if (rc || (rc = replay_file(sp, &rb, sink, ud)) != 0)
            break;
    }
    pthread_mutex_unlock(&sp->replay_mu);
out:
    free(rb.clicks);
    free(rb.row_rc);
    free(rb.lens);
    return rc;
}

/* Copies the counters, with the depth and size of now. */
void td_spool_get_stats(td_spool *sp, td_spool_stats *out)
{
    pthread_mutex_lock(&sp->mu);
    *out = sp->st;
    out->depth = sp->records + sp->replay_records - sp->replay_done;
    out->bytes = sp->size + sp->replay_size;
    out->max_bytes = sp->max_bytes;
    pthread_mutex_unlock(&sp->mu);
}
