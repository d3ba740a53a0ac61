/*
 * cmdline.h: kvctl's command line: the environment defaults, options,
 * commands and their operands, and the word splitting of the interactive
 * prompt.  Parsing only: nothing here touches the network or the terminal,
 * so every rule can be tested on its own.
 */
#ifndef KVD_CMDLINE_H
#define KVD_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

/* One error line; the caller prefixes "kvctl: ". */
#define CMDLINE_ERR_MAX	256

/* Timeout when neither -t nor KVCTL_TIMEOUT says otherwise. */
#define CMDLINE_TIMEOUT_MS	30000

enum cmdline_cmd {
	CMD_NONE,	/* no command: interactive on a terminal, else usage */
	CMD_PUT,
	CMD_GET,
	CMD_DEL,
	CMD_SCAN,
	CMD_PING,
	CMD_STATS,
	CMD_COMPACT,
	CMD_HELP,
	CMD_QUIT,	/* "quit" or "exit" at the interactive prompt */
};

struct cmdline {
	/* global options */
	const char		*server;	/* NULL: 127.0.0.1:7878 */
	unsigned int		 timeout_ms;	/* 0: none */
	int			 hex;
	int			 help;
	int			 version;
	/* the command */
	enum cmdline_cmd	 cmd;
	const char		*cmdname;
	const char		*arg[2];	/* operands after the command */
	int			 nargs;
	/* scan and stats */
	const char		*prefix;
	const char		*from;
	const char		*to;
	uint64_t		 limit;		/* 0: no limit */
	uint32_t		 page_size;	/* 0: the server's default */
	int			 keys_only;
	int			 json;
	/* compact */
	int			 wait;
};

/* cmdline_init(cl): the defaults, before the environment and arguments. */
void cmdline_init(struct cmdline *cl);

/*
 * cmdline_env(cl, server, timeout, hex, err):
 * Apply the values of KVCTL_SERVER, KVCTL_TIMEOUT and KVCTL_HEX (each NULL
 * or empty when unset).  KVCTL_HEX turns --hex on unless it is "0".
 * Returns 0, or -1 with err (CMDLINE_ERR_MAX bytes) naming the variable
 * and the problem.
 */
int cmdline_env(struct cmdline *cl, const char *server, const char *timeout,
    const char *hex, char *err);

/*
 * cmdline_parse(cl, argc, argv, err):
 * Parse argv[0..argc) (the words after the program name) on top of what
 * cl already holds.  Options may come before or after the command; "--"
 * ends them, so later words are operands even if they begin with '-'.
 * Pointers into argv are kept, so argv must outlive cl.  Returns 0, or -1
 * with err naming the option or word and the problem.
 */
int cmdline_parse(struct cmdline *cl, int argc, char *const argv[],
    char *err);

/*
 * cmdline_timeout(s, msp):
 * Parse SECONDS ("5", "0.25", "0" for none) into milliseconds.  Returns 0,
 * or -1 if s is not such a number or exceeds 4294967 seconds.
 */
int cmdline_timeout(const char *s, unsigned int *msp);

/*
 * cmdline_split(line, wordsp, nwordsp, err):
 * Split a line typed at the prompt into words like a shell does: blanks
 * separate words; '...' is literal; "..." and bare words take backslash
 * escapes (\\ \" \' \n \t \r \xNN, and a backslash before a blank).  A
 * zero byte cannot be part of a word (use --hex).  On success returns 0 and
 * sets *wordsp to a malloc'd, NULL-terminated array of *nwordsp words that
 * cmdline_split_free() releases.  Returns -1 with err on bad quoting, -2 if
 * memory is short.
 */
int cmdline_split(const char *line, char ***wordsp, int *nwordsp, char *err);

/* cmdline_split_free(words): free what cmdline_split() made; NULL is a no-op. */
void cmdline_split_free(char **words);

#endif /* !KVD_CMDLINE_H */
