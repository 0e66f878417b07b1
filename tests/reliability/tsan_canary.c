/* tsan_canary.c -- a known data race, for tests/races.sh: two threads add to one counter without
 * a lock. Built with ThreadSanitizer it must leave a report where the suites' reports go, or the
 * check that follows would pass without looking. */
#include <pthread.h>
#include <stdio.h>

static long counter;

static void *add(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++) counter++;
    return NULL;
}

int main(void) {
    pthread_t a, b;
    if (pthread_create(&a, NULL, add, NULL) != 0 || pthread_create(&b, NULL, add, NULL) != 0) return 1;
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%ld\n", counter);
    return 0;
}
