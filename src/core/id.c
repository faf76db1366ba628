/* Random identifiers and UUIDs. Random bytes come from getrandom(), buffered per thread so that
 * making an id does not cost a system call; the buffer is dropped after fork(). */
#include "core/common.h"

#include <sys/random.h>

#include "core/id.h"
#include "core/time.h"

#define POOL_SIZE 256

static __thread unsigned char pool[POOL_SIZE];
static __thread size_t pool_left;
static __thread pid_t pool_pid;

/* Refills the per-thread pool from the kernel. */
static int pool_fill(void)
{
    size_t got = 0;

    while (got < POOL_SIZE) {
        ssize_t n = getrandom(pool + got, POOL_SIZE - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return TD_EIO;
        }
        got += (size_t)n;
    }
    pool_left = POOL_SIZE;
    pool_pid = getpid();
    return 0;
}

/* Fills buf with n random bytes. */
int td_random_bytes(void *buf, size_t n)
{
    unsigned char *out = buf;
    int rc;

    while (n > 0) {
        size_t take;
        if (pool_left == 0 || pool_pid != getpid()) {
            rc = pool_fill();
            if (rc)
                return rc;
        }
        take = TD_MIN(n, pool_left);
        memcpy(out, pool + POOL_SIZE - pool_left, take);
        /* Wipe what was handed out, so the pool never gives the same bytes twice. */
        memset(pool + POOL_SIZE - pool_left, 0, take);
        pool_left -= take;
        out += take;
        n -= take;
    }
    return 0;
}

/* Writes n base62 characters using rejection sampling over random bytes. */
int td_id_base62(char *out, size_t n)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char rnd[32];
    size_t i = 0;
    int rc;

    while (i < n) {
        rc = td_random_bytes(rnd, sizeof rnd);
        if (rc)
            return rc;
        for (size_t j = 0; j < sizeof rnd && i < n; j++) {
            if (rnd[j] < 248) /* 248 = 4 * 62: larger values would bias the low symbols */
                out[i++] = alphabet[rnd[j] % 62];
        }
    }
    out[n] = '\0';
    return 0;
}

/* Formats 16 bytes as a lower-case UUID. */
static void uuid_format(const unsigned char b[16], char out[TD_UUID_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
}

/* Makes a version 7 UUID: 48 bits of Unix milliseconds, then random bits. */
int td_uuid_v7(char out[TD_UUID_SIZE])
{
    unsigned char b[16];
    uint64_t ms = (uint64_t)td_time_now_ms();
    int rc = td_random_bytes(b + 6, 10);

    if (rc)
        return rc;
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
    return 0;
}

/* Makes a version 4 UUID. */
int td_uuid_v4(char out[TD_UUID_SIZE])
{
    unsigned char b[16];
    int rc = td_random_bytes(b, sizeof b);

    if (rc)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
    return 0;
}

/* Checks the 8-4-4-4-12 form and lower-cases it into out. */
int td_uuid_normalize(const char *s, char out[TD_UUID_SIZE])
{
    char tmp[TD_UUID_SIZE];

    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return TD_EUUID;
        } else if (!isxdigit((unsigned char)c)) {
            return TD_EUUID;
        }
        tmp[i] = (char)tolower((unsigned char)c);
    }
    if (s[36] != '\0')
        return TD_EUUID;
    tmp[36] = '\0';
    if (out)
        memcpy(out, tmp, TD_UUID_SIZE);
    return 0;
}
