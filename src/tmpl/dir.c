/* A partial loader over one folder: the partial called x is the file x.mustache there. Names
 * come from templates and, through {{>*name}}, from data, so they are checked before use. */
#include "core/common.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "tmpl/tmpl_int.h"

/* Longest partial name accepted. */
#define MAX_NAME 200

struct td_tmpl_dir {
    char *path;
    size_t max_size;
};

/* Makes a folder loader; see tmpl.h. */
int td_tmpl_dir_new(const char *path, size_t max_size, td_tmpl_dir **out)
{
    td_tmpl_dir *d = NULL;
    int rc = 0;

    if (!out || !path || !*path) {
        rc = TD_EINVAL;
        goto out;
    }
    *out = NULL;
    d = calloc(1, sizeof *d);
    if (!d || !(d->path = strdup(path))) {
        rc = TD_ENOMEM;
        goto out;
    }
    d->max_size = max_size ? max_size : TD_TMPL_DEFAULT_MAX_SIZE;
    *out = d;
    d = NULL;
out:
    td_tmpl_dir_free(d);
    return rc;
}

/* Frees a folder loader. */
void td_tmpl_dir_free(td_tmpl_dir *d)
{
    if (!d)
        return;
    free(d->path);
    free(d);
}

/* Tells whether name may be used as a file name inside the folder: one plain path component. */
static bool name_ok(const char *name)
{
    size_t i, n = strlen(name);
    bool ok = n > 0 && n <= MAX_NAME && !strstr(name, "..");

    for (i = 0; i < n && ok; i++) {
        unsigned char c = (unsigned char)name[i];

        ok = c >= 0x20 && c != 0x7f && c != '/' && c != '\\';
    }
    return ok;
}

/* Reads the partial called name from the folder; see tmpl.h. */
int td_tmpl_dir_loader(void *ud, const char *name, td_buf *out)
{
    const td_tmpl_dir *d = ud;
    td_buf path;
    struct stat st;
    size_t max, got = 0;
    int fd = -1, rc = 0;

    td_buf_init(&path, PATH_MAX);
    if (!d || !name || !out || !name_ok(name)) {
        rc = TD_EINVAL;
        goto out;
    }
    rc = td_buf_printf(&path, "%s/%s.mustache", d->path, name);
    if (rc) {
        rc = rc == TD_ETOOBIG ? TD_EINVAL : rc;
        goto out;
    }
    /* O_NONBLOCK: a FIFO in the folder must not hang the render; regular files ignore it. */
    fd = open(path.data, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = errno == ENOENT || errno == ENOTDIR ? TD_ENOTFOUND : TD_EIO;
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        rc = TD_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = TD_ENOTFOUND;
        goto out;
    }
    max = TD_MIN(d->max_size, out->max - out->len);
    if ((uintmax_t)st.st_size > max) {
        rc = TD_ETOOBIG;
        goto out;
    }
    rc = td_buf_reserve(out, (size_t)st.st_size);
    /* Read until end of file even if it grew since fstat, but never past the limit. */
    while (!rc) {
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof chunk);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = TD_EIO;
        } else if (n == 0) {
            break;
        } else if ((size_t)n > max - got) {
            rc = TD_ETOOBIG;
        } else {
            rc = td_buf_add(out, chunk, (size_t)n);
            got += (size_t)n;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    td_buf_release(&path);
    return rc;
}
