/* signals.c — graceful stops, and no temp files left by any death (signals.h). */
#include "signals.h"
#include "saex.h"

#include <string.h>
#include <unistd.h>

volatile sig_atomic_t g_stop_signal;

static void on_stop(int sig) {
    if (g_stop_signal) { /* the second request: leave now, still without leftovers */
        saex_remove_temp_files();
        _exit(128 + sig);
    }
    g_stop_signal = sig;
    static const char msg[] = "\nsaex: stopping after the current batch (again to quit now)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
}

static void on_fatal(int sig) {
    saex_remove_temp_files();
    signal(sig, SIG_DFL); /* then die of it, as without the handler (core dumps included) */
    raise(sig);
}

void signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    int stop[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof stop / sizeof stop[0]; i++) sigaction(stop[i], &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGXFSZ, &sa, NULL);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND;
    int fatal[] = {SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGIO, SIGPWR,
                   SIGSTKFLT, SIGSYS, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &sa, NULL);
}

int signals_exit_status(void) { return 128 + (g_stop_signal ? g_stop_signal : SIGINT); }
