#include "sqlite_faults.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* Each wrapped file: our header, then the real VFS's file object in the same allocation
 * (szOsFile is the sum), so no extra allocation or lifetime to manage. */
typedef struct {
    sqlite3_file base;
    sqlite3_file *real;
    char path[512];
} FaultFile;

static sqlite3_vfs fault_vfs;
static sqlite3_vfs *real_vfs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Up to 8 fragments at once, so concurrent tests fault their own directories only. */
static char fragments[8][512];
static long refused;

static int failing(FaultFile *f) {
    pthread_mutex_lock(&lock);
    int fail = 0;
    for (int i = 0; i < 8 && !fail; i++) fail = fragments[i][0] != 0 && strstr(f->path, fragments[i]) != NULL;
    if (fail) refused++;
    pthread_mutex_unlock(&lock);
    return fail;
}

#define REAL(p) (((FaultFile *)(p))->real)

static int f_close(sqlite3_file *p) { return REAL(p)->pMethods->xClose(REAL(p)); }
static int f_read(sqlite3_file *p, void *b, int n, sqlite3_int64 o) { return REAL(p)->pMethods->xRead(REAL(p), b, n, o); }
static int f_write(sqlite3_file *p, const void *b, int n, sqlite3_int64 o) {
    if (failing((FaultFile *)p)) return SQLITE_FULL;
    return REAL(p)->pMethods->xWrite(REAL(p), b, n, o);
}
static int f_truncate(sqlite3_file *p, sqlite3_int64 size) {
    if (failing((FaultFile *)p)) return SQLITE_FULL;
    return REAL(p)->pMethods->xTruncate(REAL(p), size);
}
static int f_sync(sqlite3_file *p, int flags) { return REAL(p)->pMethods->xSync(REAL(p), flags); }
static int f_size(sqlite3_file *p, sqlite3_int64 *s) { return REAL(p)->pMethods->xFileSize(REAL(p), s); }
static int f_lock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xLock(REAL(p), l); }
static int f_unlock(sqlite3_file *p, int l) { return REAL(p)->pMethods->xUnlock(REAL(p), l); }
static int f_check(sqlite3_file *p, int *r) { return REAL(p)->pMethods->xCheckReservedLock(REAL(p), r); }
static int f_fcntl(sqlite3_file *p, int op, void *a) { return REAL(p)->pMethods->xFileControl(REAL(p), op, a); }
static int f_sector(sqlite3_file *p) { return REAL(p)->pMethods->xSectorSize(REAL(p)); }
static int f_chars(sqlite3_file *p) { return REAL(p)->pMethods->xDeviceCharacteristics(REAL(p)); }
static int f_shmmap(sqlite3_file *p, int pg, int sz, int ext, void volatile **out) {
    return REAL(p)->pMethods->xShmMap(REAL(p), pg, sz, ext, out);
}
static int f_shmlock(sqlite3_file *p, int off, int n, int flags) { return REAL(p)->pMethods->xShmLock(REAL(p), off, n, flags); }
static void f_shmbarrier(sqlite3_file *p) { REAL(p)->pMethods->xShmBarrier(REAL(p)); }
static int f_shmunmap(sqlite3_file *p, int del) { return REAL(p)->pMethods->xShmUnmap(REAL(p), del); }
static int f_fetch(sqlite3_file *p, sqlite3_int64 o, int n, void **pp) { return REAL(p)->pMethods->xFetch(REAL(p), o, n, pp); }
static int f_unfetch(sqlite3_file *p, sqlite3_int64 o, void *pp) { return REAL(p)->pMethods->xUnfetch(REAL(p), o, pp); }

static const sqlite3_io_methods fault_methods = {
    3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock, f_check, f_fcntl, f_sector, f_chars,
    f_shmmap, f_shmlock, f_shmbarrier, f_shmunmap, f_fetch, f_unfetch,
};

static int f_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *out) {
    (void)vfs;
    FaultFile *f = (FaultFile *)file;
    f->real = (sqlite3_file *)(f + 1);
    f->path[0] = 0;
    if (name) {
        strncpy(f->path, name, sizeof f->path - 1);
        f->path[sizeof f->path - 1] = 0;
    }
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out);
    /* Only files the real VFS opened get our methods (SQLite then calls xClose on them).
     * The real VFS must be version 3 (unix is), or the shm calls above would be missing. */
    f->base.pMethods = (rc == SQLITE_OK && f->real->pMethods) ? &fault_methods : NULL;
    return rc;
}

static int f_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; return real_vfs->xDelete(real_vfs, n, s); }
static int f_access(sqlite3_vfs *v, const char *n, int fl, int *r) { (void)v; return real_vfs->xAccess(real_vfs, n, fl, r); }
static int f_full(sqlite3_vfs *v, const char *n, int sz, char *o) { (void)v; return real_vfs->xFullPathname(real_vfs, n, sz, o); }
static void *f_dlopen(sqlite3_vfs *v, const char *n) { (void)v; return real_vfs->xDlOpen(real_vfs, n); }
static void f_dlerror(sqlite3_vfs *v, int n, char *m) { (void)v; real_vfs->xDlError(real_vfs, n, m); }
static void (*f_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; return real_vfs->xDlSym(real_vfs, h, s); }
static void f_dlclose(sqlite3_vfs *v, void *h) { (void)v; real_vfs->xDlClose(real_vfs, h); }
static int f_random(sqlite3_vfs *v, int n, char *o) { (void)v; return real_vfs->xRandomness(real_vfs, n, o); }
static int f_sleep(sqlite3_vfs *v, int us) { (void)v; return real_vfs->xSleep(real_vfs, us); }
static int f_time(sqlite3_vfs *v, double *t) { (void)v; return real_vfs->xCurrentTime(real_vfs, t); }
static int f_lasterr(sqlite3_vfs *v, int n, char *b) { (void)v; return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, b) : 0; }
static int f_time64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; return real_vfs->xCurrentTimeInt64(real_vfs, t); }

int capgate_sqlite_faults_install(void) {
    pthread_mutex_lock(&lock);
    int rc = SQLITE_OK;
    if (!real_vfs) {
        sqlite3_initialize();
        sqlite3_vfs *base = sqlite3_vfs_find(NULL);
        if (!base || base->iVersion < 2) {
            rc = SQLITE_ERROR;
        } else {
            real_vfs = base;
            memset(&fault_vfs, 0, sizeof fault_vfs);
            fault_vfs.iVersion = 2;
            fault_vfs.szOsFile = (int)sizeof(FaultFile) + base->szOsFile;
            fault_vfs.mxPathname = base->mxPathname;
            fault_vfs.zName = "capgate-faults";
            fault_vfs.xOpen = f_open;
            fault_vfs.xDelete = f_delete;
            fault_vfs.xAccess = f_access;
            fault_vfs.xFullPathname = f_full;
            fault_vfs.xDlOpen = f_dlopen;
            fault_vfs.xDlError = f_dlerror;
            fault_vfs.xDlSym = f_dlsym;
            fault_vfs.xDlClose = f_dlclose;
            fault_vfs.xRandomness = f_random;
            fault_vfs.xSleep = f_sleep;
            fault_vfs.xCurrentTime = f_time;
            fault_vfs.xGetLastError = f_lasterr;
            fault_vfs.xCurrentTimeInt64 = f_time64;
            rc = sqlite3_vfs_register(&fault_vfs, 1);
            if (rc != SQLITE_OK) real_vfs = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int capgate_sqlite_faults_fail_writes(const char *f) {
    if (!f || !f[0] || strlen(f) >= sizeof fragments[0]) return -1;
    pthread_mutex_lock(&lock);
    int slot = -1;
    for (int i = 0; i < 8; i++) {
        if (strcmp(fragments[i], f) == 0) { slot = i; break; }
        if (slot < 0 && fragments[i][0] == 0) slot = i;
    }
    if (slot >= 0) strcpy(fragments[slot], f);
    pthread_mutex_unlock(&lock);
    return slot >= 0 ? 0 : -1;
}

void capgate_sqlite_faults_heal(const char *f) {
    if (!f) return;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < 8; i++) {
        if (strcmp(fragments[i], f) == 0) fragments[i][0] = 0;
    }
    pthread_mutex_unlock(&lock);
}

long capgate_sqlite_faults_refused(void) {
    pthread_mutex_lock(&lock);
    long n = refused;
    pthread_mutex_unlock(&lock);
    return n;
}
