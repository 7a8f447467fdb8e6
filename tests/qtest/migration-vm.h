/* SPDX-License-Identifier: MIT */
/*
 * What the qtest migration tests (migration-test.c,
 * migration-options-test.c) share: a fixture with a temporary directory
 * and two kvmini processes under -accel qtest, each with a libqmp monitor
 * and a second monitor for passing fds; QMP helpers for migrate,
 * query-migrate and the MIGRATION events; and guest RAM written with a
 * seeded pattern and compared page by page across the two processes.
 */
#ifndef TESTS_QTEST_MIGRATION_VM_H
#define TESTS_QTEST_MIGRATION_VM_H

#include "libqmp.h"
#include "libqtest.h"

#define RAM_SIZE     (64ULL << 20)
#define MIB          (1ULL << 20)
#define MIG_TIMEOUT_MS 60000

typedef struct Vm {
    QTestState *qts;
    QmpClient *qmp;
    char *qmp_path;
    char *fd_path;                      /* second monitor, for getfd */
} Vm;

typedef struct Fixture {
    char *dir;
    Vm src, dst;
} Fixture;

/* A path in f->dir; caller frees. */
char *fixture_path(Fixture *f, const char *name);
void fixture_init(Fixture *f);
/* Remove f->dir and everything in it (stop the Vms first). */
void fixture_free(Fixture *f);
/* kvmini with two monitors (libqmp's and one for passing fds). */
void vm_start(Fixture *f, Vm *vm, const char *name, const char *extra);
/* Close its monitor and protocol socket, wait for kvmini to exit (or
 * reap it), assert its exit status; remove its sockets. */
void vm_stop(Vm *vm, int want_status);

/* n as an object (asserted). */
JsonObject *obj(JsonNode *n);
void cmd_ok(Vm *vm, const char *json);
void migrate(Vm *vm, const char *uri);
void set_params(Vm *vm, int64_t downtime_ms, int64_t bandwidth);
/* query-migrate's return value; caller unrefs. */
JsonNode *query_migrate(Vm *vm);
/* Poll until the status is want (libqmp fails the test on another
 * final status). */
void wait_status(Vm *vm, const char *want);
/* query-migrate's "ram"."name" (asserted present). */
int64_t ram_stat(JsonNode *r, const char *name);
/* query-status's "status" is want. */
void check_run_status(Vm *vm, const char *want);
/* The MIGRATION statuses received so far, comma separated. */
char *event_statuses(Vm *vm);

/* len bytes at addr from a GRand seeded with seed. */
void fill_random(Vm *vm, uint64_t addr, uint64_t len, uint32_t seed);
/* Every MiB of RAM on both sides equal, except [skip, skip + skip_len). */
void assert_same_ram(Vm *a, Vm *b, uint64_t skip, uint64_t skip_len);

#endif
