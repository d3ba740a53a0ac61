/*
 * server.h: listeners and client connections.
 *
 * The server accepts TCP connections, cuts each one's input into frames,
 * hands every frame to dispatch and sends the replies back strictly in
 * request order.  A reply that must wait for durability (dispatch says
 * until which sequence number) holds back every later reply on its
 * connection; the loop never blocks on it: server_durable() releases what
 * the engine has made durable since.
 *
 * Limits: max-clients (connections over it get UNAVAILABLE and are
 * closed), idle-timeout, and per connection an output limit (above it the
 * client is no longer read until its replies drain: backpressure) and a
 * hard limit (above it the client is dropped).  Frames over max-frame get
 * TOO_LARGE and are skipped without buffering; a frame that does not parse
 * closes the connection after its INVALID_ARGUMENT reply.
 */
#ifndef KVD_SERVER_H
#define KVD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

struct event_base;
struct engine;
struct dispatch;
struct stats;
struct server;

struct server_config {
	struct event_base *base;
	struct engine	*engine;
	struct dispatch	*dispatch;
	struct stats	*stats;
	const struct endpoint *listen;	/* addresses to bind */
	size_t		 nlisten;
	uint32_t	 max_frame;
	uint32_t	 max_clients;
	uint32_t	 idle_timeout;	/* seconds; 0: none */
	uint64_t	 output_limit;
	uint64_t	 output_hard_limit;
	unsigned	 drain_seconds;	/* at shutdown, wait this long for slow clients */
};

/*
 * server_new(cfg, out, err, errlen):
 * Resolve and bind every listen address and start accepting on cfg->base.
 * Everything in cfg is borrowed and must outlive the server.  Returns 0,
 * or -1 with one line in err naming the address and the problem.
 */
int server_new(const struct server_config *cfg, struct server **out,
    char *err, size_t errlen);

/*
 * server_resolve(ep, err, errlen):
 * Check that ep resolves to at least one address (for kvd -t).  Returns 0
 * or -1 with err set.
 */
int server_resolve(const struct endpoint *ep, char *err, size_t errlen);

/*
 * server_durable(s):
 * The engine's durable sequence may have advanced (call after
 * engine_service()): send the held replies it covers.  If the engine has
 * turned read-only, replies that can no longer become durable are
 * answered UNAVAILABLE instead.
 */
void server_durable(struct server *s);

/*
 * server_shutdown(s, done, arg):
 * Stop accepting and stop reading requests; let every connection finish
 * sending the replies of the requests it has already made (held writes
 * included, as they become durable), then close it.  Connections still
 * open after cfg->drain_seconds are closed anyway.  done(arg) is called
 * once, from the loop, when no connection is left.
 */
void server_shutdown(struct server *s, void (*done)(void *arg), void *arg);

/* server_free(s): close every listener and connection, free s.  NULL is a no-op. */
void server_free(struct server *s);

#endif /* !KVD_SERVER_H */
