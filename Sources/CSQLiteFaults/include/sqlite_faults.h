#ifndef CAPGATE_SQLITE_FAULTS_H
#define CAPGATE_SQLITE_FAULTS_H

/* Test support (never linked into capgate): a pass-through SQLite VFS that can make every
 * write to chosen files fail with SQLITE_FULL, the result SQLite gives for ENOSPC. Tests use
 * it to prove the audit store's disk-full behaviour without root or a real full filesystem
 * (docs/audit.md, "Fail closed"). */

/* Registers the shim once as the process's default VFS, wrapping the previous default.
 * Returns 0 (SQLITE_OK) on success. Connections opened afterwards go through it. */
int capgate_sqlite_faults_install(void);

/* From now on, writes (xWrite, xTruncate) to every file whose path contains `fragment` fail
 * with SQLITE_FULL, until `capgate_sqlite_faults_heal(fragment)`. Up to 8 fragments at once
 * (concurrent tests each fault their own directory); returns 0, or -1 when full or invalid. */
int capgate_sqlite_faults_fail_writes(const char *fragment);
void capgate_sqlite_faults_heal(const char *fragment);

/* Writes refused since install (so a test can prove the fault was hit). */
long capgate_sqlite_faults_refused(void);

#endif
