/* FORTIFY demo: copies argv[1] into an 8-byte buffer. With _FORTIFY_SOURCE=2 the copy becomes
 * __strcpy_chk, which aborts ("buffer overflow detected", SIGABRT, shell status 134) on a
 * longer argument instead of overwriting the stack. The output goes through a function pointer
 * so that the program has an indirect call for CFI to check, like any real program. */
#include <stdio.h>
#include <string.h>

static int shout(const char *s) { return printf("%s!\n", s); }
static int say(const char *s) { return puts(s); }

int main(int argc, char **argv) {
    char buf[8];
    int (*out[2])(const char *) = {say, shout};
    strcpy(buf, argc > 1 ? argv[1] : "ok");
    return out[argc > 2](buf) < 0;
}
