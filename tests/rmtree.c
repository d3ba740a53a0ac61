/*
 * rmtree.c: remove a directory tree.  See rmtree.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rmtree.h"

void
rmtree(const char *path)
{
	DIR *d;
	struct dirent *de;
	char sub[1024];
	struct stat st;

	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				rmtree(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}
