/* Prints, for each key read from stdin (one per line), the index of the server libmemcached
 * chooses for it under the configuration string given as argv[1]: the reference that
 * test/resolve/placement.test.ts compares vmbridge's distribution.ts with. No server is contacted. */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: placement '<libmemcached configuration string>' < keys\n");
        return 64;
    }
    memcached_st *memc = memcached(argv[1], strlen(argv[1]));
    if (!memc) {
        fprintf(stderr, "libmemcached refused the configuration string\n");
        return 64;
    }
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\n");
        line[n] = '\0';
        printf("%u\n", memcached_generate_hash(memc, line, n));
    }
    memcached_free(memc);
    return 0;
}
