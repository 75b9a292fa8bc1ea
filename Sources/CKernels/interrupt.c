#include "sf_interrupt.h"
#include <signal.h>

static volatile sig_atomic_t interrupted = 0;

static void on_interrupt(int signo) {
    (void)signo;
    interrupted = 1;
    signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

void sf_interrupt_install(void) {
    interrupted = 0;
    signal(SIGINT, on_interrupt);
}

void sf_interrupt_restore(void) { signal(SIGINT, SIG_DFL); }

int sf_interrupted(void) { return interrupted; }
