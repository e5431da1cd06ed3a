/* CFI demo: an indirect call through a pointer of the wrong type. Under clang CFI the call
 * `f(41)` with `argv[1] == "confuse"` goes to a function of another type and traps (SIGILL).
 * Two functions of the same type make a jump table of two entries: the second entry is where
 * clang 14's CFI jump tables break under -fcf-protection (misaligned entries, SIGTRAP), so a
 * plain run also proves the table layout is sound. */
#include <stdio.h>
#include <string.h>

typedef int (*int_fn)(int);

static int add_one(int x) { return x + 1; }
static int add_two(int x) { return x + 2; }
static float halve(float x) { return x / 2; }

int main(int argc, char **argv) {
    char label[32];
    strncpy(label, argc > 1 ? argv[1] : "plain", sizeof label - 1);
    label[sizeof label - 1] = 0;
    void *table[3] = {(void *)add_one, (void *)add_two, (void *)halve};
    int_fn first = (int_fn)table[argc > 5];
    int_fn f = (int_fn)table[strcmp(label, "confuse") == 0 ? 2 : 1];
    printf("%s %d %d\n", label, first(40), f(40));
    return 0;
}
