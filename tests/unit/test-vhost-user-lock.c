/* SPDX-License-Identifier: MIT */
/*
 * The backend channel's handler and the lock it takes (VhostUserState.
 * lock, the machine lock in kvmini): a thread standing in for a vCPU holds
 * the lock, the test's main thread runs the main loop that serves the
 * channel, and the scripted fake backend (vhost-user-fake.c) plays the
 * backend.  A channel request is handled only once the vCPU lets go of
 * the lock, and a vCPU that waits for a reply the backend holds back
 * until its own channel request is answered gives up after timeout_ms
 * (protocol error, disconnect): no deadlock.  The race the lock closes,
 * with a real device, is tests/qtest/vhost-user-channel-lock-test.c.
 */
#include "vhost-user-fake.h"

#include <poll.h>

#define PF_CHANNEL  (PF(REPLY_ACK) | PF(BACKEND_REQ) | PF(CONFIG) | \
                     PF(HOST_NOTIFIER))
#define TIMEOUT_MS  300

typedef struct Vcpu {
    Fixture *f;
    GMutex lock;                /* the "machine lock" */
    int holding;                /* atomic: the lock is held */
    int released;               /* atomic: about to let go of it */
    bool ok;
    Error *err;
    bool answered;              /* the channel answered while held */
} Vcpu;

static void vcpu_start(Vcpu *v, Fixture *f)
{
    v->f = f;
    g_mutex_init(&v->lock);
    f->u.lock = &v->lock;
}

static void vcpu_finish(Vcpu *v)
{
    v->f->u.lock = NULL;
    g_mutex_clear(&v->lock);
}

static void vcpu_release(Vcpu *v)
{
    g_atomic_int_set(&v->released, 1);
    g_mutex_unlock(&v->lock);
}

/* A guest config write whose ack never comes. */
static gpointer vcpu_set_config(gpointer opaque)
{
    Vcpu *v = opaque;

    g_mutex_lock(&v->lock);
    v->ok = vhost_user_ops.set_config(&v->f->dev, (const uint8_t *)"wxyz",
                                      0, 4, 0, &v->err);
    vcpu_release(v);
    return NULL;
}

/* Hold the lock for a while and watch the channel: no answer meanwhile. */
static gpointer vcpu_hold(gpointer opaque)
{
    Vcpu *v = opaque;
    struct pollfd pfd = { .fd = v->f->chan_fd, .events = POLLIN };

    g_mutex_lock(&v->lock);
    g_atomic_int_set(&v->holding, 1);
    v->answered = poll(&pfd, 1, TIMEOUT_MS) != 0;
    v->ok = !v->f->u.notifiers[1].addr;
    vcpu_release(v);
    return NULL;
}

/* The backend sends CONFIG_CHANGE_MSG (NEED_REPLY) while the vCPU waits,
 * lock held, for a SET_CONFIG ack the backend never sends. */
static void test_reply_timeout(Fixture *f, gconstpointer data)
{
    FbStep st[] = { st_none(VHOST_USER_SET_CONFIG) };
    GThread *thread;
    Vcpu v = { 0 };

    vcpu_start(&v, f);
    init_proto(f, PF_CHANNEL);
    f->u.timeout_ms = TIMEOUT_MS;
    fb_start(f, st, 1);
    thread = g_thread_new("vcpu", vcpu_set_config, &v);
    fb_join(f, true);               /* SET_CONFIG is out: the lock held */
    chan_send(f, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, FL_NEED, NULL, 0, -1);
    /* Answered (within WAIT_FOR's 5 s), after the vCPU gave up. */
    g_assert_cmpuint(chan_reply(f, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG), ==,
                     0);
    g_assert_true(g_atomic_int_get(&v.released));
    g_thread_join(thread);
    g_assert_false(v.ok);
    g_assert_cmpstr(error_get_pretty(v.err), ==,
                    "SET_CONFIG: no reply within 300 ms");
    error_free(v.err);
    g_assert_cmpuint(f->config_changes, ==, 1);
    g_assert_cmpuint(f->u.protocol_errors, ==, 1);
    WAIT_FOR(f->closed_events == 1);
    vcpu_finish(&v);
}

/* A host notifier offered while the vCPU holds the lock is mapped and
 * answered after the vCPU lets go, not before. */
static void test_host_notifier_waits(Fixture *f, gconstpointer data)
{
    VhostUserVringArea area = { .u64 = 1, .size = getpagesize() };
    int mfd = memfd_page("doorbell");
    GThread *thread;
    Vcpu v = { 0 };

    vcpu_start(&v, f);
    init_proto(f, PF_CHANNEL);
    thread = g_thread_new("vcpu", vcpu_hold, &v);
    while (!g_atomic_int_get(&v.holding)) {
        g_usleep(1000);
    }
    chan_send(f, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG, FL_NEED, &area,
              sizeof(area), mfd);
    g_assert_cmpuint(chan_reply(f, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG),
                     ==, 0);
    g_assert_true(g_atomic_int_get(&v.released));
    g_thread_join(thread);
    g_assert_false(v.answered);
    g_assert_true(v.ok);
    g_assert_nonnull(f->u.notifiers[1].addr);
    g_assert_true(vhost_user_is_connected(&f->u));
    close(mfd);
    vcpu_finish(&v);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/vhost-user/lock/reply-timeout", Fixture, NULL,
               fixture_setup, test_reply_timeout, fixture_teardown);
    g_test_add("/vhost-user/lock/host-notifier-waits", Fixture, NULL,
               fixture_setup, test_host_notifier_waits, fixture_teardown);
    return g_test_run();
}
