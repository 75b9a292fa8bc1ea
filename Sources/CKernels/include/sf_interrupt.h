// Ctrl-C for long runs: the first SIGINT only sets a flag that the runner polls between engine
// calls (so finished results are written and nothing is cut in half); the second one, with the
// default action restored, ends the process as usual.
#ifndef SEEDFLOW_INTERRUPT_H
#define SEEDFLOW_INTERRUPT_H

void sf_interrupt_install(void);
void sf_interrupt_restore(void);
/// 1 once SIGINT arrived after sf_interrupt_install.
int sf_interrupted(void);

#endif
