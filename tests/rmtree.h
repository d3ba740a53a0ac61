/*
 * rmtree.h: remove a directory tree a test made, for tests with and
 * without cmocka (the engine tests and the engine benchmark).
 */
#ifndef KVD_TESTS_RMTREE_H
#define KVD_TESTS_RMTREE_H

/*
 * rmtree(path):
 * Remove path and everything below it, without following symbolic links.
 * Best effort: what cannot be removed stays, silently (a leftover in a
 * temporary directory must not fail a test that passed).
 */
void rmtree(const char *path);

#endif /* !KVD_TESTS_RMTREE_H */
