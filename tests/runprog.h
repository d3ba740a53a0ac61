/*
 * runprog.h: run a program (kvctl) the way a shell script would: bytes on
 * its standard input, its standard output and error collected apart, its
 * exit status; or on a pseudo-terminal, for the interactive prompt.
 */
#ifndef KVD_TESTS_RUNPROG_H
#define KVD_TESTS_RUNPROG_H

#include <stddef.h>
#include <stdint.h>

struct run {
	int	 status;	/* exit status, 128 + signal, or -1 */
	uint8_t	*out;		/* standard output (NUL-terminated too) */
	size_t	 outlen;
	char	*err;		/* standard error, NUL-terminated */
	size_t	 errlen;
};

/*
 * run_prog(r, argv, env, in, inlen):
 * Run argv[0] (a path) with argv, an environment of PATH, HOME and TMPDIR
 * from ours plus env (NULL-terminated "NAME=value" list, or NULL), and in
 * on its standard input.  Gives up (kills it) after 120 seconds.  Returns
 * r->status; free r with run_free().
 */
int run_prog(struct run *r, const char *const *argv, const char *const *env,
    const void *in, size_t inlen);

/*
 * run_pty(r, argv, env, script):
 * Run argv on a new pseudo-terminal, type script into it, read until the
 * program exits.  r->out holds everything the terminal showed.
 */
int run_pty(struct run *r, const char *const *argv, const char *const *env,
    const char *script);

void run_free(struct run *r);

/* $KVD_TOP_BUILDDIR/kvctl, in a static buffer. */
const char *run_kvctl_path(void);

#endif /* !KVD_TESTS_RUNPROG_H */
