/*
 * asyncdrive.h: one workload for the asynchronous API, shared by the test
 * against the stand-in server (kvclient-async.c) and the one against kvd
 * (kvclient-async-kvd.c).
 */
#ifndef KVD_TESTS_ASYNCDRIVE_H
#define KVD_TESTS_ASYNCDRIVE_H

/*
 * async_drive_thousand(endpoint):
 * On a new event_base, issue 500 puts at once; each put's callback issues a
 * get of the same key, for 1,000 requests in all.  Asserts (cmocka) that
 * every callback runs once, in request order, with KV_OK and the value
 * that was put, and that the loop ends by itself once the handle is freed.
 */
void async_drive_thousand(const char *endpoint);

#endif /* !KVD_TESTS_ASYNCDRIVE_H */
