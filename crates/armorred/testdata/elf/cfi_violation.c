/* Calls a function through a pointer of the wrong type: CFI must trap (SIGILL).
 * `twice` is a valid target, so the binary has a real jump table and range check; the call
 * through table[argc] (argc == 1) reaches `as_long`, whose type does not match. */
#include <stdio.h>

typedef int (*int_fn)(int);
int twice(int x) { return 2 * x; }
long as_long(long x) { return x * 2; }
int_fn table[2] = {twice, (int_fn)as_long};

int main(int argc, char **argv) {
    volatile int i = argc;
    printf("%d %s\n", table[i](21), argv[0]);
    return 0;
}
